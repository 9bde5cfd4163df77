"""Real local Kubernetes control planes: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes and pods) on 127.0.0.1 free ports.

Each cluster lives in its own directory (data, logs, kubeconfig, state file), so several
clusters run side by side and are isolated. Processes are detached and recorded by PID;
`down` stops exactly those PIDs and removes the directory.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from shiplane.localcluster import procs
from shiplane.localcluster.build import binary_path, component_dir, is_built
from shiplane.localcluster.components import component
from shiplane.localcluster.kubeapi import KubeAPI, is_node_ready, node_manifest
from shiplane.localcluster.paths import clusters_dir

Progress = Callable[[str], None]

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")
STATE_FILE = "cluster.json"
STAGES_DIR = Path(__file__).parent / "stages"
# Stop order: dependants first, etcd last.
STOP_ORDER = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


class ClusterError(RuntimeError):
    """A local cluster operation failed; the message says what, where and how to fix it."""


class PortTakenError(ClusterError):
    """A component could not bind its port (`component`): another process took it between
    choosing and binding, or it was given and is in use."""

    def __init__(self, message: str, component: str) -> None:
        super().__init__(message)
        self.component = component


# A port chosen free can be taken before the component binds it (other clusters starting
# at the same time): `up` then starts again on new ports, this many times at most.
PORT_ATTEMPTS = 3


@dataclass
class ClusterState:
    name: str
    directory: str
    nodes: int
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    created_at: float = 0.0
    ready_seconds: float = 0.0

    @property
    def path(self) -> Path:
        return Path(self.directory)

    @property
    def kubeconfig(self) -> Path:
        return self.path / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def status(self) -> str:
        alive = [procs.is_alive(pid) for pid in self.pids.values()]
        if alive and all(alive):
            return "running"
        return "degraded" if any(alive) else "stopped"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(status=self.status(), server=self.server, kubeconfig=str(self.kubeconfig))
        return data


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ClusterError(
            f"invalid cluster name {name!r}: use 1-40 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (for example 'dev')"
        )


def cluster_path(name: str) -> Path:
    return clusters_dir() / name


def load_state(name: str) -> ClusterState | None:
    path = cluster_path(name) / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"cannot read {path}: {exc}; remove the directory to start over"
        ) from exc
    return ClusterState(
        name=data["name"],
        directory=data["directory"],
        nodes=data["nodes"],
        ports=data["ports"],
        pids=data["pids"],
        created_at=data.get("created_at", 0.0),
        ready_seconds=data.get("ready_seconds", 0.0),
    )


def list_clusters() -> list[ClusterState]:
    base = clusters_dir()
    if not base.is_dir():
        return []
    found = []
    for child in sorted(base.iterdir()):
        state = load_state(child.name) if (child / STATE_FILE).is_file() else None
        if state is not None:
            found.append(state)
    return found


def _save_state(state: ClusterState) -> None:
    tmp = state.path / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(state.path / STATE_FILE)


def _require_binaries() -> dict[str, Path]:
    needed = {
        "etcd": ("etcd", "etcd"),
        "kube-apiserver": ("kubernetes", "kube-apiserver"),
        "kube-controller-manager": ("kubernetes", "kube-controller-manager"),
        "kube-scheduler": ("kubernetes", "kube-scheduler"),
        "kwok": ("kwok", "kwok"),
    }
    paths: dict[str, Path] = {}
    missing: list[str] = []
    for key, (comp, binary) in needed.items():
        path = binary_path(comp, binary)
        if not path.is_file() or not is_built(component(comp)):
            missing.append(f"{binary} (expected at {path})")
        paths[key] = path
    if missing:
        raise ClusterError(
            "missing control-plane binaries: "
            + ", ".join(missing)
            + "; run `shiplane localcluster build` first (it builds them from Go modules)"
        )
    return paths


def _write_kubeconfig(state: ClusterState, token: str, ca_pem: str) -> None:
    import base64

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": state.name,
                "cluster": {
                    "server": state.server,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": f"{state.name}-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": state.name,
                "context": {"cluster": state.name, "user": f"{state.name}-admin"},
            }
        ],
        "current-context": state.name,
    }
    state.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
    state.kubeconfig.chmod(0o600)


def _gen_sa_key(path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError("openssl is not installed: run `apt-get install -y openssl`")
    subprocess.run([openssl, "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    path.chmod(0o600)


class _Starter:
    """Starts components one by one, remembering PIDs so a failure can undo them all."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    def start(self, key: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.state.pids[key] = procs.start_process(argv, self.log(key), env=env)

    def log(self, key: str) -> Path:
        return self.state.path / "logs" / f"{key}.log"

    def check_alive(self) -> None:
        for key, pid in self.state.pids.items():
            if not procs.is_alive(pid):
                tail = procs.log_tail(self.log(key))
                message = (
                    f"{key} exited during start-up of cluster {self.state.name!r}; "
                    f"last lines of {self.log(key)}:\n{tail}"
                )
                if "address already in use" in tail:
                    raise PortTakenError(message, key)
                raise ClusterError(message)

    def wait(self, what: str, check: Callable[[], bool], timeout: float, log_key: str) -> None:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if check():
                    return
            except (httpx.HTTPError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise ClusterError(
            f"timed out after {timeout:.0f}s waiting for {what} of cluster {self.state.name!r}"
            + (f" (last error: {last_error})" if last_error else "")
            + f"; last lines of {self.log(log_key)}:\n{procs.log_tail(self.log(log_key))}"
        )

    def stop_all(self) -> None:
        for key in STOP_ORDER:
            pid = self.state.pids.get(key)
            if pid is not None:
                procs.stop_process(pid, must_contain=self.state.directory)


def up(
    name: str,
    *,
    nodes: int = 3,
    apiserver_port: int | None = None,
    timeout: float = 90.0,
    progress: Progress = print,
) -> ClusterState:
    """Bring a cluster up and wait until it is usable (nodes Ready, default SA present)."""
    validate_name(name)
    if nodes < 1 or nodes > 100:
        raise ClusterError(f"--nodes must be between 1 and 100, got {nodes}")
    existing = load_state(name)
    if existing is not None:
        if existing.status() == "running":
            progress(f"cluster {name!r} is already running at {existing.server}")
            return existing
        down(name, progress=lambda _: None)  # leftovers of a dead cluster: start clean
    binaries = _require_binaries()
    started_at = time.monotonic()
    directory = cluster_path(name)
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "pki").mkdir(parents=True)
    (directory / "logs").mkdir()
    state = ClusterState(name=name, directory=str(directory), nodes=nodes, created_at=time.time())
    for attempt in range(1, PORT_ATTEMPTS + 1):
        etcd, peer, chosen = procs.free_ports(3)
        state.ports = {"etcd": etcd, "etcd-peer": peer, "apiserver": apiserver_port or chosen}
        state.pids = {}
        starter = _Starter(state)
        try:
            _start_control_plane(state, starter, binaries, timeout, progress)
            break
        except BaseException as exc:
            starter.stop_all()
            shutil.rmtree(directory / "etcd", ignore_errors=True)
            (directory / STATE_FILE).unlink(missing_ok=True)
            given = apiserver_port is not None and getattr(exc, "component", "") == "kube-apiserver"
            if not isinstance(exc, PortTakenError) or given or attempt == PORT_ATTEMPTS:
                raise
            progress(f"a port of {exc.component} was taken meanwhile; starting again")
    state.ready_seconds = round(time.monotonic() - started_at, 2)
    _save_state(state)
    progress(f"cluster {name!r} ready in {state.ready_seconds:.1f}s at {state.server}")
    return state


def _start_control_plane(
    state: ClusterState,
    starter: _Starter,
    binaries: dict[str, Path],
    timeout: float,
    progress: Progress,
) -> None:
    d = state.path
    token = secrets.token_hex(24)
    (d / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    (d / "tokens.csv").chmod(0o600)
    _gen_sa_key(d / "sa.key")
    etcd_url = f"http://127.0.0.1:{state.ports['etcd']}"
    peer_url = f"http://127.0.0.1:{state.ports['etcd-peer']}"

    progress(f"[1/4] starting etcd on {etcd_url}")
    starter.start(
        "etcd",
        [
            str(binaries["etcd"]),
            "--name=default",
            f"--data-dir={d / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
            "--auto-compaction-retention=1",
            "--quota-backend-bytes=4294967296",
        ],
    )
    _save_state(state)  # PIDs on disk from the first process on, so `down` can always clean up
    starter.wait(
        "etcd health",
        lambda: httpx.get(f"{etcd_url}/health", timeout=2).is_success,
        timeout,
        "etcd",
    )

    server = state.server
    pki = d / "pki"
    progress(f"[2/4] starting kube-apiserver on {server}")
    starter.start(
        "kube-apiserver",
        [
            str(binaries["kube-apiserver"]),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={state.ports['apiserver']}",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--cert-dir={pki}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.key'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            f"--token-auth-file={d / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--max-requests-inflight=0",
            "--max-mutating-requests-inflight=0",
            "--profiling=false",
        ],
    )
    _save_state(state)
    ca = pki / "apiserver.crt"

    def apiserver_ready() -> bool:
        if not ca.is_file():
            return False
        ctx = ssl.create_default_context(cafile=str(ca))
        return httpx.get(f"{server}/readyz", verify=ctx, timeout=2).status_code == 200

    starter.wait("kube-apiserver /readyz", apiserver_ready, timeout, "kube-apiserver")
    _write_kubeconfig(state, token, ca.read_text())

    progress("[3/4] starting kube-controller-manager, kube-scheduler and kwok")
    kubeconfig = str(state.kubeconfig)
    starter.start(
        "kube-controller-manager",
        [
            str(binaries["kube-controller-manager"]),
            f"--kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--leader-elect=false",
            f"--service-account-private-key-file={d / 'sa.key'}",
            f"--root-ca-file={ca}",
            "--use-service-account-credentials=false",
            "--node-monitor-period=5s",
            "--node-monitor-grace-period=40s",
        ],
    )
    starter.start(
        "kube-scheduler",
        [
            str(binaries["kube-scheduler"]),
            f"--kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--leader-elect=false",
        ],
    )
    stages = component_dir(component("kwok")) / "stages"
    stage_files = [*sorted(stages.glob("*.yaml")), *sorted(STAGES_DIR.glob("*.yaml"))]
    # kwok also reads ~/.kwok/kwok.yaml; a private HOME keeps a user's file out of tests.
    kwok_env = {"HOME": str(d), "PATH": "/usr/bin:/bin"}
    starter.start(
        "kwok",
        [
            str(binaries["kwok"]),
            f"--kubeconfig={kubeconfig}",
            "--config=" + ",".join(str(p) for p in stage_files),
            "--manage-all-nodes=true",
            "--node-lease-duration-seconds=40",
        ],
        env=kwok_env,
    )
    _save_state(state)

    progress(f"[4/4] registering {state.nodes} fake nodes and waiting until they are Ready")
    api = KubeAPI(server, token, ca)
    try:
        for i in range(state.nodes):
            api.create("/api/v1/nodes", node_manifest(f"{state.name}-node-{i}"))

        def nodes_ready() -> bool:
            body = api.get("/api/v1/nodes")
            items = body["items"] if body else []
            return len(items) >= state.nodes and all(is_node_ready(n) for n in items)

        starter.wait("nodes to be Ready", nodes_ready, timeout, "kwok")
        starter.wait(
            "the default ServiceAccount",
            lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default") is not None,
            timeout,
            "kube-controller-manager",
        )
    finally:
        api.close()


def down(name: str, *, progress: Progress = print) -> bool:
    """Stop a cluster's processes by PID and remove its data; False if there was none."""
    validate_name(name)
    directory = cluster_path(name)
    state = load_state(name)
    if state is None and not directory.exists():
        progress(f"no local cluster named {name!r}; nothing to do")
        return False
    if state is not None:
        _Starter(state).stop_all()
    shutil.rmtree(directory, ignore_errors=True)
    progress(f"cluster {name!r} stopped and removed")
    return True


def kubectl_dir() -> Path:
    return component_dir(component("kubernetes"))


def env_exports(name: str) -> str:
    """Shell lines that point kubectl at the cluster (for `eval "$(...)"`)."""
    state = load_state(name)
    if state is None:
        raise ClusterError(
            f"no local cluster named {name!r}; start it with `shiplane localcluster up {name}`"
        )
    import shlex

    return (
        f"export KUBECONFIG={shlex.quote(str(state.kubeconfig))}\n"
        f'export PATH={shlex.quote(str(kubectl_dir()))}:"$PATH"\n'
    )
