"""Benchmark: the web UI's matrix and pipeline pages at scale, beside the JSON API.

With the matrix benchmark's data (bench/matrix.py: 1,000 apps x 5 environments, three
releases per app, 100,000 audit events) on SQLite, a real `shiplane serve`, signed in
through the UI's own form with the admin token:

  server time   GET /ui/matrix (first page, 50 apps), GET /ui/ (the pipeline) and
                GET /api/v1/matrix (the same data as JSON) in the same run, one
                keep-alive client, after warm-up; GET /healthz as the floor
  transferred   bytes on the wire per page (gzip, as a browser asks), its HTML alone and
                with its assets on a first visit (cold cache)
  navigation    Chromium (Debian's, through Playwright, as the browser tests run it):
                from `goto` until the page's content is visible, first visit and then
                repeated visits (p50/p95)

Goals (issue 13): matrix page p95 <= 150 ms, pipeline p95 <= 100 ms, navigation <= 1 s,
<= 150 KB per page.

    .venv/bin/python bench/ui.py [--requests N] [--navigations N]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.matrix import APPS, ENVIRONMENTS, p, seed, timings, write_config  # noqa: E402
from tests.e2e.web.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.serverproc import running_server  # noqa: E402

from shiplane.store.db import Database  # noqa: E402

GOALS_MS = {"matrix page": 150.0, "pipeline page": 100.0}
NAVIGATION_GOAL_MS = 1000.0
BYTES_GOAL = 150 * 1024
PAGES = {
    "matrix page": ("/ui/matrix", "table.matrix tbody tr"),
    "pipeline page": ("/ui/", ".env-node"),
}
_NONCE = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSET = re.compile(r'(?:href|src)="(/ui/assets/[^"]+)"')


def signed_in(base_url: str, token: str) -> httpx.Client:
    """A client with a UI session, signed in through the form as a browser would."""
    client = httpx.Client(base_url=base_url, timeout=60, headers={"Accept-Encoding": "gzip"})
    form = client.get("/ui/login")
    nonce = _NONCE.search(form.text)
    assert nonce is not None, form.text
    done = client.post(
        "/ui/login", data={"csrf_token": nonce.group(1), "token": token, "next": "/ui/"}
    )
    assert done.status_code in (200, 303) and "shiplane_session" in client.cookies, done.text
    return client


def getter(client: httpx.Client, path: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(path)
        response.raise_for_status()
        return response.content

    return get


def wire_bytes(client: httpx.Client, path: str) -> tuple[int, int, int]:
    """(HTML on the wire, HTML uncompressed, HTML + its assets on the wire)."""
    page = client.get(path)
    html_wire, html_size = page.num_bytes_downloaded, len(page.content)
    total = html_wire
    for asset in sorted(set(_ASSET.findall(page.text))):
        total += client.get(asset).num_bytes_downloaded
    return html_wire, html_size, total


def browse(
    base_url: str, token: str, navigations: int
) -> dict[str, tuple[float, float, float, int]]:
    """Per page: (first visit ms, p50 ms, p95 ms of repeat visits, bytes on a first visit
    as the browser counts them: navigation + resources transferSize)."""
    from playwright.sync_api import sync_playwright

    results: dict[str, tuple[float, float, float, int]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="shiplane-bench-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = context.new_page()
            page.goto(base_url + "/ui/login")
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/ui/")
            for label, (path, selector) in PAGES.items():
                fresh = context.new_page()
                fresh.route("**/*", lambda route: route.continue_())  # no cache reuse
                started = time.perf_counter()
                fresh.goto(base_url + path, wait_until="commit")
                fresh.locator(selector).first.wait_for(state="visible")
                first = (time.perf_counter() - started) * 1000
                transferred = int(
                    fresh.evaluate(
                        "() => performance.getEntriesByType('navigation')"
                        ".concat(performance.getEntriesByType('resource'))"
                        ".reduce((n, e) => n + (e.transferSize || 0), 0)"
                    )
                )
                fresh.close()
                samples = []
                for _ in range(navigations):
                    started = time.perf_counter()
                    page.goto(base_url + path, wait_until="commit")
                    page.locator(selector).first.wait_for(state="visible")
                    samples.append((time.perf_counter() - started) * 1000)
                results[label] = (first, p(samples, 50), p(samples, 95), transferred)
        finally:
            context.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case")
    parser.add_argument("--navigations", type=int, default=20, help="timed browser visits")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"{CHROMIUM} is missing: run `make system-deps`")
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-ui-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'bench.db'}"
        database = Database.from_url(url)
        database.migrate()
        print(f"== seeding {APPS} apps x {len(ENVIRONMENTS)} environments")
        seed(database)
        database.close()
        config = work / "shiplane.yaml"
        write_config(config)
        with running_server(work / "server", url, config=config) as server:
            rows: list[tuple[str, ...]] = []
            api = httpx.Client(
                base_url=server.url,
                timeout=60,
                headers={"Authorization": f"Bearer {server.admin_token}"},
            )
            ui = signed_in(server.url, server.admin_token)
            try:
                floor = timings(getter(api, "/healthz"), args.requests)
                json_samples = timings(getter(api, "/api/v1/matrix"), args.requests)
                j95 = p(json_samples, 95)
                json_bytes = api.get(
                    "/api/v1/matrix", headers={"Accept-Encoding": "gzip"}
                ).num_bytes_downloaded
                h95 = p(floor, 95)
                rows.append(
                    ("GET /healthz (baseline)", f"{p(floor, 50):.1f}", f"{h95:.1f}", "", "", "")
                )
                rows.append(
                    (
                        "GET /api/v1/matrix (JSON, 5,000 cells)",
                        f"{p(json_samples, 50):.1f}",
                        f"{j95:.1f}",
                        "",
                        f"{json_bytes / 1024:.1f} KB",
                        "",
                    )
                )
                for label, (path, _selector) in PAGES.items():
                    samples = timings(getter(ui, path), args.requests)
                    s95 = p(samples, 95)
                    html_wire, html_size, total = wire_bytes(ui, path)
                    ok = s95 <= GOALS_MS[label] and total <= BYTES_GOAL
                    rows.append(
                        (
                            f"GET {path} ({label})",
                            f"{p(samples, 50):.1f}",
                            f"{s95:.1f}",
                            f"{s95 / j95:.2f}x JSON matrix, {s95 / h95:.0f}x healthz",
                            f"{html_wire / 1024:.1f} KB html ({html_size / 1024:.0f} KB raw), "
                            f"{total / 1024:.1f} KB with assets",
                            f"{'ok' if ok else 'MISSED'} (<= {GOALS_MS[label]:.0f} ms, 150 KB)",
                        )
                    )
            finally:
                api.close()
                ui.close()
            browser = browse(server.url, server.admin_token, args.navigations)
    load_after = os.getloadavg()
    header = ("case", "p50 ms", "p95 ms", "ratio (p95)", "transferred", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print()
    print("Chromium: goto -> content visible")
    for label, (first, n50, n95, transferred) in browser.items():
        verdict = (
            "ok"
            if max(first, n95) <= NAVIGATION_GOAL_MS and transferred <= BYTES_GOAL
            else "MISSED"
        )
        print(
            f"  {label}: first visit {first:.0f} ms ({transferred / 1024:.1f} KB transferred), "
            f"repeat p50 {n50:.0f} ms, p95 {n95:.0f} ms -> {verdict} (<= 1000 ms, 150 KB)"
        )
    print()
    print(
        f"run {started_at:%Y-%m-%d %H:%M} UTC; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
