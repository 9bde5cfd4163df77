"""Benchmark: the matrix and audit listing over a large store, on SQLite and PostgreSQL.

Seeds, through the store, 1,000 apps x 5 environments with deployment history (three
releases per app, rolled through the environments) and 100,000 audit events; starts a
real `shiplane serve`; times over HTTP with one keep-alive client:

  GET /api/v1/matrix                 the whole 1,000 x 5 matrix
  GET /api/v1/audit?limit=50         the first page
  GET /api/v1/audit?limit=50&cursor  a deep page (around event 1,000 of 100,000)

Baselines measured in the same run: GET /healthz (the HTTP + process floor) and the raw
SQL of each query through SQLAlchemy Core (the database floor). Prints p50/p95 and the
ratios. Goals: matrix p95 <= 100 ms, audit page p95 <= 50 ms.

    .venv/bin/python bench/matrix.py [--backend sqlite|postgresql|both] [--requests N]

PostgreSQL: `--postgres-url` or SHIPLANE_TEST_POSTGRES_URL (a server whose user may
CREATE DATABASE); otherwise a throwaway server is started with initdb/pg_ctl, as the
test suite does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.serverproc import postgres_database, running_server  # noqa: E402

from shiplane.domain.pagination import encode_cursor  # noqa: E402
from shiplane.store import audit, matrix, releases  # noqa: E402
from shiplane.store.db import Database  # noqa: E402

APPS = 1000
ENVIRONMENTS = ["dev", "qa", "staging", "prod-eu", "prod-us"]
RELEASES_PER_APP = 3
AUDIT_EVENTS = 100_000
AUDIT_BATCH = 5000
DEEP_SEQ = 1000
GOALS_MS = {"matrix": 100.0, "audit first page": 50.0, "audit deep page": 50.0}


def app_name(n: int) -> str:
    return f"svc-{n:04d}"


def write_config(path: Path) -> None:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: bench",
        "clusters:",
        "  main: {kubeconfig: ~/.kube/config, context: main}",
        "environments:",
    ]
    after: list[str] = []
    for env in ENVIRONMENTS:
        upstream = f", after: [{', '.join(after)}]" if after else ""
        lines.append(f"  {env}: {{cluster: main, namespace: {env}{upstream}}}")
        if not env.startswith("prod"):
            after = [env]
    lines.append("apps:")
    for n in range(APPS):
        app = app_name(n)
        lines += [
            f"  {app}:",
            f"    images: [registry.example/bench/{app}]",
            f"    manifests: {{path: apps/{app}, render: plain}}",
        ]
    path.write_text("\n".join(lines) + "\n")


def seed(database: Database) -> None:
    started = time.perf_counter()
    with database.session() as s:
        for n in range(APPS):
            app = app_name(n)
            ids = []
            for r in range(RELEASES_PER_APP):
                record, _ = releases.create_release(
                    s,
                    artifacts={app: f"registry.example/bench/{app}:1.{r}.0"},
                    alias=None,
                    labels={"branch": "main"},
                    creator="bench",
                )
                ids.append(record.id)
            # History: each release rolls forward through the environments, each newer one
            # a step less far, so upstream cells end on the newest release and downstream
            # ones lag behind; every cell is filled.
            for r, rel_id in enumerate(ids):
                for e, env in enumerate(ENVIRONMENTS):
                    if e < len(ENVIRONMENTS) - r:
                        matrix.record_deployment(
                            s,
                            environment=env,
                            app=app,
                            release_id=rel_id,
                            git_commit=f"{n:04x}{r}{e}",
                            sync_status="Synced",
                            health="Healthy",
                        )
    print(f"  seeded releases and deployments in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    rng = random.Random(7)
    actions = ["release.create", "promotion.start", "promotion.succeed", "approval.grant"]
    for start in range(0, AUDIT_EVENTS, AUDIT_BATCH):
        with database.session() as s:
            for _ in range(start, min(start + AUDIT_BATCH, AUDIT_EVENTS)):
                audit.append_event(
                    s,
                    actor=f"user-{rng.randrange(50)}",
                    action=rng.choice(actions),
                    subject=f"rel-{rng.getrandbits(80):020x}",
                    details={"reason": "bench", "n": rng.randrange(1000)},
                    app=app_name(rng.randrange(APPS)),
                    environment=rng.choice(ENVIRONMENTS),
                )
    print(f"  seeded {AUDIT_EVENTS:,} audit events in {time.perf_counter() - started:.1f}s")


def timings(call: Callable[[], object], requests: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def http_getter(client: httpx.Client, path: str, **params: object) -> Callable[[], object]:
    def get() -> object:
        response = client.get(path, params=params)
        response.raise_for_status()
        return response.content

    return get


def sql_getter(database: Database, statement: str, **params: object) -> Callable[[], object]:
    query = text(statement)

    def run() -> object:
        with database.engine.connect() as conn:
            return conn.execute(query, params).fetchall()

    return run


MATRIX_SQL = (
    "SELECT d.*, r.alias FROM deployments d LEFT JOIN releases r ON r.id = d.release_id "
    "WHERE d.environment IN ('dev','qa','staging','prod-eu','prod-us')"
)
AUDIT_FIRST_SQL = "SELECT * FROM audit_events ORDER BY seq DESC LIMIT 51"
AUDIT_DEEP_SQL = "SELECT * FROM audit_events WHERE seq < :seq ORDER BY seq DESC LIMIT 51"


def run_backend(name: str, url: str, workdir: Path, requests: int) -> list[tuple[str, ...]]:
    print(f"\n== {name}")
    database = Database.from_url(url)
    database.migrate()
    seed(database)
    config = workdir / "shiplane.yaml"
    write_config(config)
    rows: list[tuple[str, ...]] = []
    with running_server(workdir / "server", url, config=config) as server, server.admin() as c:
        matrix_doc = c.get("/api/v1/matrix").json()
        assert len(matrix_doc["cells"]) == APPS * len(ENVIRONMENTS)
        assert all(cell["release_id"] for cell in matrix_doc["cells"])
        deep = encode_cursor("audit", [DEEP_SEQ])
        floor = timings(http_getter(c, "/healthz"), requests)
        cases = [
            ("matrix", http_getter(c, "/api/v1/matrix"), sql_getter(database, MATRIX_SQL)),
            (
                "audit first page",
                http_getter(c, "/api/v1/audit", limit=50),
                sql_getter(database, AUDIT_FIRST_SQL),
            ),
            (
                "audit deep page",
                http_getter(c, "/api/v1/audit", limit=50, cursor=deep),
                sql_getter(database, AUDIT_DEEP_SQL, seq=DEEP_SEQ),
            ),
        ]
        h50, h95 = p(floor, 50), p(floor, 95)
        rows.append((name, "GET /healthz (baseline)", f"{h50:.1f}", f"{h95:.1f}", "", "", ""))
        for label, http_call, sql_call in cases:
            api = timings(http_call, requests)
            raw = timings(sql_call, requests)
            a50, a95, s95 = p(api, 50), p(api, 95), p(raw, 95)
            verdict = "ok" if a95 <= GOALS_MS[label] else "MISSED"
            rows.append(
                (
                    name,
                    label,
                    f"{a50:.1f}",
                    f"{a95:.1f}",
                    f"{s95:.1f}",
                    f"{a95 / s95:.1f}x sql, {a95 / h95:.1f}x healthz",
                    f"{verdict} (<= {GOALS_MS[label]:.0f})",
                )
            )
    database.close()
    return rows


@contextlib.contextmanager
def postgres_server(explicit: str | None) -> Iterator[str]:
    url = explicit or os.environ.get("SHIPLANE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    from tests.support.postgres import _local_server  # the test suite's throwaway server

    with _local_server() as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-") as tmp:
        root = Path(tmp)
        if args.backend in ("sqlite", "both"):
            work = root / "sqlite"
            work.mkdir()
            rows += run_backend("sqlite", f"sqlite:///{work / 'bench.db'}", work, args.requests)
        if args.backend in ("postgresql", "both"):
            work = root / "postgresql"
            work.mkdir()
            with (
                postgres_server(args.postgres_url) as server_url,
                postgres_database(server_url) as url,
            ):
                rows += run_backend("postgresql", url, work, args.requests)
    header = ("backend", "case", "p50 ms", "p95 ms", "raw SQL p95 ms", "ratio (p95)", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
