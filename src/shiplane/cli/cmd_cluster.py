"""`shiplane cluster add | list | remove`: register a target cluster for Shiplane.

These commands talk to the clusters directly with the caller's kubeconfig, like
`localcluster`, not through the server: registering needs the caller's admin rights in the
target cluster (to create a ServiceAccount and grant it Roles), which the server neither
has nor should have. The cluster work is `kube/registration.py` (the objects, the token)
and `kube/access.py` (the probe `list` shows); what was registered is kept on this machine
(`cluster_records.py`). The server learns of a cluster the usual way: a `clusters:` entry in
shiplane.yaml naming the kubeconfig file (or the mounted Secret), which this command
prints and never writes (shiplane.yaml is reviewed in git; secrets never go in it).
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

import typer
import yaml
from lightkube import KubeConfig

from shiplane.cli import cluster_records as records
from shiplane.cli.groups import command_group
from shiplane.cli.output import OutputFormat, render
from shiplane.config.durations import parse_duration
from shiplane.kube import access, registration
from shiplane.kube.apply_rest import KubeApiError
from shiplane.kube.connection import connect, describe

cluster = command_group(
    "cluster",
    "Register target clusters: a ServiceAccount with namespace-scoped permissions, "
    "its token, and the kubeconfig Shiplane uses.",
)

MOUNT_DIR = "/etc/shiplane/clusters"
DEFAULT_TOKEN_DURATION = "8760h"  # noqa: S105 (a duration) a year: `cluster add` again renews it


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _kubeconfig_path(given: Path | None) -> Path:
    if given is not None:
        return given.expanduser().resolve()
    env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(env).expanduser().resolve() if env else Path.home() / ".kube" / "config"


def _server_and_ca(path: Path, context: str | None) -> tuple[str, str | None]:
    single = KubeConfig.from_file(str(path)).get(context_name=context)
    if single is None:
        raise _fail(f"context {context!r} not found in {path}")
    ca = single.cluster.certificate_auth_data
    if ca is None and single.cluster.certificate_auth:
        ca_path = Path(single.cluster.certificate_auth)
        if not ca_path.is_absolute():
            ca_path = path.parent / ca_path
        ca = base64.b64encode(ca_path.read_bytes()).decode()
    return single.cluster.server, ca


def entry_yaml(name: str, kubeconfig: str, namespaces: list[str]) -> str:
    """The `clusters:` entry for shiplane.yaml."""
    entry = {"clusters": {name: {"kubeconfig": kubeconfig, "namespaces": namespaces}}}
    return yaml.safe_dump(entry, sort_keys=False, default_flow_style=None)


@cluster.command("add")
def add_cmd(
    # CTX, not CONTEXT: help texts keep Click's type names (TEXT) out, by substring.
    context: str = typer.Argument(
        ..., metavar="CTX", help="Context of the target cluster in the kubeconfig."
    ),
    name: str | None = typer.Option(None, "--name", help="Name in shiplane.yaml (the context)."),
    namespace: list[str] = typer.Option(
        ...,
        "--namespace",
        "-n",
        metavar="NS",
        help="A namespace Shiplane may deploy to (repeatable).",
    ),
    kubeconfig: Path | None = typer.Option(
        None,
        "--kubeconfig",
        metavar="FILE",
        help="Admin kubeconfig ($KUBECONFIG, else ~/.kube/config).",
    ),
    token_duration: str = typer.Option(
        DEFAULT_TOKEN_DURATION,
        "--token-duration",
        metavar="DURATION",
        help="How long the token is valid.",
    ),
    server: str | None = typer.Option(
        None, "--server", help="API server URL Shiplane uses (default: the context's)."
    ),
    system_namespace: str = typer.Option(
        registration.SYSTEM_NAMESPACE,
        "--system-namespace",
        metavar="NS",
        help="Where the ServiceAccount is.",
    ),
    secret_namespace: str | None = typer.Option(
        None,
        "--secret-namespace",
        metavar="NS",
        help="Also store the kubeconfig as Secret shiplane-cluster-NAME in this namespace of "
        "the cluster Shiplane runs in (in-cluster mode).",
    ),
    home_context: str | None = typer.Option(
        None,
        "--home-context",
        metavar="CTX",
        help="Context of the cluster Shiplane runs in (for the Secret).",
    ),
    home_kubeconfig: Path | None = typer.Option(
        None,
        "--home-kubeconfig",
        metavar="FILE",
        help="Kubeconfig of that context (default: --kubeconfig's).",
    ),
) -> None:
    """Create a ServiceAccount with namespace-scoped permissions in the cluster of CTX,
    request a token for it, and print the `clusters:` entry for shiplane.yaml."""
    reg_name = name or context.replace("_", "-").lower()
    try:
        registration.check_name(reg_name)
        seconds = parse_duration(token_duration)
    except (registration.RegistrationError, ValueError) as exc:
        raise _fail(str(exc)) from None
    admin = _kubeconfig_path(kubeconfig)
    api_server, ca = _server_and_ca(admin, context)

    async def run() -> registration.Registration:
        client = connect(admin, context)
        try:
            return await registration.add(
                client, reg_name, namespace, token_seconds=seconds, system=system_namespace
            )
        finally:
            await client.close()

    try:
        made = asyncio.run(run())
    except (KubeApiError, registration.RegistrationError) as exc:
        raise _fail(f"cluster add {reg_name}: {exc}") from None
    config = registration.kubeconfig(
        reg_name, server or api_server, ca, made.token, made.namespaces[0]
    )
    text = yaml.safe_dump(config, sort_keys=False)
    credentials = records.write_credentials(reg_name, text)
    secret = None
    if secret_namespace is not None:
        secret = _store_secret(
            reg_name, text, secret_namespace, home_kubeconfig or admin, home_context
        )
    record = records.Record(
        name=reg_name,
        context=context,
        admin_kubeconfig=str(admin),
        server=server or api_server,
        namespaces=made.namespaces,
        system_namespace=system_namespace,
        token_expires=made.token_expires,
        credentials=str(credentials),
        secret=secret,
        created=made.created,
    )
    records.save(record)
    print(f"registered {reg_name}: ServiceAccount {system_namespace}/shiplane-{reg_name}")
    print(f"  namespaces: {', '.join(made.namespaces)}; token expires {made.token_expires}")
    print(f"  credentials: {credentials} (mode 0600)")
    if secret is not None:
        mount = f"{MOUNT_DIR}/{reg_name}"
        print(f"  Secret {secret.namespace}/{secret.name} (key kubeconfig): mount it at {mount}")
        print("add to shiplane.yaml:")
        print(entry_yaml(reg_name, f"{mount}/kubeconfig", made.namespaces), end="")
    else:
        print("add to shiplane.yaml:")
        print(entry_yaml(reg_name, str(credentials), made.namespaces), end="")


def _store_secret(
    name: str, text: str, namespace: str, kubeconfig: Path, context: str | None
) -> records.SecretPlace:
    async def run() -> str:
        client = connect(kubeconfig, context)
        try:
            return await registration.store_secret(client, name, namespace, text)
        finally:
            await client.close()

    try:
        secret = asyncio.run(run())
    except KubeApiError as exc:
        raise _fail(f"storing the kubeconfig Secret in {namespace}: {exc}") from None
    return records.SecretPlace(namespace, secret, str(kubeconfig), context)


@cluster.command("list")
def list_cmd(
    output: OutputFormat = typer.Option(OutputFormat.table, "-o", "--output"),
) -> None:
    """List registered clusters: server, credentials, namespaces, reachable and why not."""
    rows = asyncio.run(_probe_all(records.load_all()))
    columns = [
        ("name", "NAME"),
        ("server", "SERVER"),
        ("auth", "AUTH"),
        ("namespaces", "NAMESPACES"),
        ("token_expires", "EXPIRES"),
        ("reachable", "REACHABLE"),
        ("reason", "REASON"),
    ]
    if output in (OutputFormat.table, OutputFormat.wide):
        rows = [{**r, "namespaces": _joined(r["namespaces"])} for r in rows]
    render(rows, columns, output)


def _joined(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


async def _probe_all(found: list[records.Record]) -> list[dict[str, object]]:
    async def one(record: records.Record) -> dict[str, object]:
        path = Path(record.credentials)
        row: dict[str, object] = {
            "name": record.name,
            "server": record.server,
            "auth": None,
            "namespaces": record.namespaces,
            "token_expires": record.token_expires or None,
            "secret": None if record.secret is None else record.secret.name,
            "kubeconfig": str(path),
        }
        try:
            info = describe(path)
            client = connect(path)
        except Exception as exc:
            return {**row, "reachable": False, "reason": f"credentials unreadable: {exc}"}
        try:
            checked = await access.probe(
                client,
                record.namespaces,
                token_expires=info.token_expires or record.token_expires or None,
            )
        finally:
            await client.close()
        auth = "serviceaccount token" if info.auth == "token" else info.auth
        return {**row, "auth": auth, "reachable": checked.reachable, "reason": checked.reason}

    return list(await asyncio.gather(*(one(r) for r in found)))


@cluster.command("remove")
def remove_cmd(
    name: str = typer.Argument(..., help="Name the cluster was registered as."),
    context: str | None = typer.Option(
        None, "--context", metavar="CTX", help="Admin context (default: the one `add` used)."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", metavar="FILE", help="Admin kubeconfig (default: the one `add` used)."
    ),
    delete_namespaces: bool = typer.Option(
        False, "--delete-namespaces", help="Also delete the namespaces `add` created (and apps)."
    ),
) -> None:
    """Revoke what `add` created: RoleBindings, Roles, the ServiceAccount (and with it every
    token), the kubeconfig Secret and the local credentials; then check nothing is left."""
    record = records.load(name)
    if record is None and context is None:
        raise _fail(f"no cluster registered as {name!r} here; give --context to remove it anyway")
    admin = kubeconfig or Path(record.admin_kubeconfig if record else _kubeconfig_path(None))
    ctx = context or (record.context if record else None)
    system = record.system_namespace if record else registration.SYSTEM_NAMESPACE

    async def run() -> tuple[list[str], list[tuple[str, str, str]]]:
        client = connect(admin, ctx)
        try:
            removed = await registration.remove(
                client, name, system=system, delete_namespaces=delete_namespaces
            )
            return removed, await registration.leftovers(client, name, system)
        finally:
            await client.close()

    try:
        removed, left = asyncio.run(run())
    except (KubeApiError, registration.RegistrationError) as exc:
        raise _fail(f"cluster remove {name}: {exc}") from None
    if record is not None and record.secret is not None:
        removed += _delete_secret(name, record.secret)
    records.forget(name)
    for line in removed:
        print(f"deleted {line}")
    if left:
        kept = ", ".join(f"{k} {ns}/{n}" for k, ns, n in left)
        raise _fail(f"still present after removal: {kept}")
    print(f"removed {name}: nothing of it is left in the cluster; remove its clusters: entry")
    sys.stdout.flush()


def _delete_secret(name: str, place: records.SecretPlace) -> list[str]:
    async def run() -> bool:
        client = connect(Path(place.kubeconfig) if place.kubeconfig else None, place.context)
        try:
            return await registration.delete_secret(client, name, place.namespace)
        finally:
            await client.close()

    return [f"Secret {place.namespace}/{place.name}"] if asyncio.run(run()) else []
