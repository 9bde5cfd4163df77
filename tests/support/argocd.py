"""A real Argo CD for tests: its repo server and application controller as local processes
on 127.0.0.1, against the session's local cluster.

`argocd` (session-scoped; `second_argocd` for the second cluster) runs the Argo CD that
`shiplane localcluster build --with argocd` builds from its pinned Go module (built here
first when it is not cached, as the cluster fixtures do). One multi-call binary runs both
components (ARGOCD_BINARY_NAME picks one).
The fixture

- starts Debian's redis-server on a loopback port (tests/support/redis_server.py): both
  components keep their caches there;
- applies Argo CD's CRDs (Application, ApplicationSet, AppProject; server-side, the
  Application CRD is too big for a client-side apply) and makes the `argocd` namespace
  with `argocd-cm`, `argocd-rbac-cm`, `argocd-secret` and the `default` AppProject (which
  argocd-server would create; it does not run here);
- registers the cluster as a destination: a cluster Secret whose server is the local API
  server's https://127.0.0.1:PORT and whose credentials (bearer token, CA) come from the
  cluster's kubeconfig. The controller runs outside a pod, so there is no in-cluster
  config: it reads Applications through `--kubeconfig` and deploys through that Secret;
- starts argocd-repo-server (gRPC without TLS on a loopback port; git from PATH, helm and
  kustomize from the binary cache and the scripts Argo CD's image has in /usr/local/bin,
  such as git-verify-wrapper.sh which it runs on every commit, put first on its PATH) and
  argocd-application-controller (`--repo-server-plaintext`), each waited for through its
  /healthz, and stops both and Redis by PID at the end of the session.

Applications read GitOps repositories through `file://` URLs (a bare repository on disk;
the repo server runs git against it like against any remote). Tests make Applications in
the `argocd` namespace with `ArgoCD.apply` and read them with `ArgoCD.application`;
tests that use the fixture carry the `argocd` marker.

Known and accepted: the application controller's metrics listener binds 0.0.0.0 on its
`--metrics-port` (hard-coded in Argo CD, controller/appcontroller.go); nothing else does.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shiplane.localcluster import cluster as lc
from shiplane.localcluster import procs
from shiplane.localcluster.build import binary_path, build_all, component_dir
from shiplane.localcluster.components import optional_component
from tests.support.redis_server import RedisServer, start_redis

__all__ = [
    "ARGOCD_NAMESPACE",
    "ArgoCD",
    "argocd",
    "argocd_binary",
    "build_argocd",
    "second_argocd",
]

ARGOCD_NAMESPACE = "argocd"
CLUSTER_SECRET = "cluster-local"
STARTUP_TIMEOUT = 90.0
FIELD_MANAGER = "shiplane-tests"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"


def build_argocd() -> Path:
    """The cached Argo CD binary, built first when missing (a no-op when cached, as under
    `make test`; a cold build takes many minutes)."""
    c = optional_component("argocd")
    build_all((c,), progress=lambda _line: None)
    return component_dir(c) / "argocd"


def kubectl(state: lc.ClusterState, *args: str, stdin: str | None = None) -> str:
    """Run the cached kubectl against `state`'s cluster; its stdout."""
    argv = [str(binary_path("kubernetes", "kubectl")), "--kubeconfig", str(state.kubeconfig)]
    done = subprocess.run(
        [*argv, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args[:3])} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def apply(state: lc.ClusterState, *objects: Mapping[str, Any]) -> None:
    """Server-side apply of `objects` to `state`'s cluster."""
    text = yaml.safe_dump_all([dict(o) for o in objects], sort_keys=False)
    kubectl(
        state, "apply", "--server-side", "--force-conflicts",
        f"--field-manager={FIELD_MANAGER}", "-f", "-", stdin=text,
    )  # fmt: skip


def _kubeconfig_credentials(state: lc.ClusterState) -> tuple[str, str, str]:
    """(server, bearer token, CA PEM) of the local cluster's kubeconfig."""
    config = yaml.safe_load(state.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    else:
        ca = Path(cluster["certificate-authority"]).read_text()
    return cluster["server"], token, ca


def cluster_secret(state: lc.ClusterState) -> dict[str, Any]:
    """The Secret that registers the local cluster with Argo CD (what `argocd cluster add`
    writes, with the kubeconfig's admin token instead of a ServiceAccount's)."""
    server, token, ca = _kubeconfig_credentials(state)
    config = {
        "bearerToken": token,
        "tlsClientConfig": {"insecure": False, "caData": base64.b64encode(ca.encode()).decode()},
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": CLUSTER_SECRET,
            "namespace": ARGOCD_NAMESPACE,
            "labels": {"argocd.argoproj.io/secret-type": "cluster"},
        },
        "type": "Opaque",
        "stringData": {"name": "local", "server": server, "config": json.dumps(config)},
    }


def _settings_objects() -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/part-of": "argocd"}
    meta = {"namespace": ARGOCD_NAMESPACE, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", **meta},
            # Tests ask for every refresh and sync themselves: no periodic resync between.
            "data": {"timeout.reconciliation": "0s"},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-rbac-cm", **meta}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "argocd-secret", **meta},
            "type": "Opaque",
            "stringData": {"server.secretkey": secrets.token_urlsafe(32)},
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": ARGOCD_NAMESPACE},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


def install(state: lc.ClusterState, crds: Path) -> None:
    """Argo CD's CRDs (Established when this returns), its namespace, settings, default
    project and the cluster Secret; applying again changes nothing."""
    files = sorted(crds.glob("*.yaml"))
    assert files, f"no CRDs in {crds}: the argocd build is incomplete"
    for path in files:
        kubectl(state, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}",
                "-f", str(path))  # fmt: skip
    names = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in files]
    kubectl(state, "wait", "--for=condition=Established", "--timeout=60s",
            *(f"crd/{n}" for n in names))  # fmt: skip
    apply(state, *_settings_objects(), cluster_secret(state))


@dataclass
class ArgoCD:
    """A running Argo CD (repo server, application controller, Redis) for one cluster."""

    root: Path
    cluster: lc.ClusterState
    redis: RedisServer
    repo_server_pid: int
    repo_server_port: int
    controller_pid: int
    namespace: str = ARGOCD_NAMESPACE

    @property
    def destination(self) -> str:
        """The API server URL Applications name as `spec.destination.server`."""
        return _kubeconfig_credentials(self.cluster)[0]

    def log_path(self, component: str) -> Path:
        return self.root / f"{component}.log"

    def logs(self, lines: int = 30) -> str:
        """The tails of both components' logs (for failure messages)."""
        parts = []
        for component in ("argocd-repo-server", "argocd-application-controller"):
            parts.append(f"--- {component}\n{procs.log_tail(self.log_path(component), lines)}")
        return "\n".join(parts)

    def apply(self, *objects: Mapping[str, Any]) -> None:
        apply(self.cluster, *objects)

    def application(self, name: str) -> dict[str, Any]:
        """The Application `name` of the argocd namespace, as the API server returns it."""
        out = kubectl(self.cluster, "get", "applications.argoproj.io", name,
                      "-n", self.namespace, "-o", "json")  # fmt: skip
        return dict(json.loads(out))

    def refresh(self, name: str) -> None:
        """What `argocd app get --refresh` does: ask the controller to compare again now."""
        kubectl(self.cluster, "annotate", "--overwrite", "-n", self.namespace,
                f"applications.argoproj.io/{name}", f"{REFRESH_ANNOTATION}=normal")  # fmt: skip

    def sync(self, name: str, revision: str) -> None:
        """What `argocd app sync --revision` asks: an operation the controller runs."""
        patch = {
            "operation": {
                "initiatedBy": {"username": "shiplane-tests"},
                "sync": {"revision": revision, "prune": True},
            }
        }
        kubectl(self.cluster, "patch", "-n", self.namespace, "--type=merge",
                f"applications.argoproj.io/{name}", "-p", json.dumps(patch))  # fmt: skip

    def delete(self, name: str) -> None:
        """Delete the Application `name` (not what it deployed: no cascade finalizer), so
        the controller stops reconciling it once its test is over."""
        kubectl(self.cluster, "delete", "applications.argoproj.io", name, "-n", self.namespace,
                "--ignore-not-found", "--wait=false")  # fmt: skip

    def stop(self) -> None:
        for pid in (self.controller_pid, self.repo_server_pid):
            procs.stop_process(pid, must_contain=str(self.root), timeout=15.0)
        self.redis.stop()


def application(
    name: str, repo_url: str, path: str, destination: str, namespace: str, revision: str = "main"
) -> dict[str, Any]:
    """An Application of the argocd namespace: `path` of `repo_url` at `revision` (a
    branch follows its head), deployed to `namespace` of `destination`; no automated sync
    (tests and the argocd target ask for each sync)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ARGOCD_NAMESPACE},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": path, "targetRevision": revision},
            "destination": {"server": destination, "namespace": namespace},
        },
    }


def _tool_path(root: Path) -> str:
    # The repo server runs `helm` and `kustomize` from PATH (and `git`, from the system),
    # and the scripts Argo CD's image has in /usr/local/bin (root/bin).
    tools = [str(binary_path(t, t).parent) for t in ("helm", "kustomize")]
    return os.pathsep.join([str(root / "bin"), *tools, os.environ.get("PATH", "/usr/bin:/bin")])


def _environment(root: Path, component: str) -> dict[str, str]:
    home = root / "home"
    env = {
        "PATH": _tool_path(root),
        "HOME": str(home),
        "ARGOCD_BINARY_NAME": component,
        # Its scratch space and the sockets it would otherwise put in /tmp, under `root`,
        # so two sessions never share them.
        "TMPDIR": str(root / "tmp"),
        "ARGOCD_ASK_PASS_SOCK": str(root / "askpass.sock"),
        "ARGOCD_TLS_DATA_PATH": str(root / "config" / "tls"),
        "ARGOCD_SSH_DATA_PATH": str(root / "config" / "ssh"),
        "ARGOCD_GNUPGHOME": str(root / "config" / "gpg"),
        "ARGOCD_APP_CONF_PATH": str(root / "config"),
        "ARGOCD_GPG_ENABLED": "false",
    }
    for folder in ("home", "tmp", "config/tls", "config/ssh", "config/gpg"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return env


def _wait_healthy(pid: int, port: int, what: str, log: Path) -> None:
    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    outcome = procs.wait_ready(pid, ready, timeout=STARTUP_TIMEOUT, interval=0.2)
    if outcome != "ready":
        raise AssertionError(f"{what} {outcome} before /healthz answered:\n{procs.log_tail(log)}")


def start_argocd(root: Path, cached: Path, state: lc.ClusterState) -> ArgoCD:
    """Redis, the CRDs and settings, the repo server and the controller, ready."""
    install(state, cached.parent / "crds")
    # Run it through a link under `root`: each process's command line then names `root`,
    # which is what stopping by PID checks (a recycled PID is never signalled).
    (root / "bin").mkdir(parents=True, exist_ok=True)
    binary = root / "bin" / "argocd"
    binary.symlink_to(cached)
    for script in sorted((cached.parent / "scripts").glob("*.sh")):
        # Copied as plain files out of the module: executable here, on the repo server's PATH.
        shutil.copyfile(script, root / "bin" / script.name)
        (root / "bin" / script.name).chmod(0o755)
    redis = start_redis(root / "redis")
    pids: list[int] = []
    try:
        repo_port, repo_metrics, controller_metrics = procs.free_ports(3)
        repo_log = root / "argocd-repo-server.log"
        pids.append(
            procs.start_process(
                [
                    str(binary), "--address", "127.0.0.1", "--port", str(repo_port),
                    "--metrics-address", "127.0.0.1", "--metrics-port", str(repo_metrics),
                    "--redis", redis.address, "--disable-tls", "--client-ca-path=",
                    "--logformat", "text", "--loglevel", "info",
                ],
                repo_log,
                env=_environment(root, "argocd-repo-server"),
            )
        )  # fmt: skip
        _wait_healthy(pids[0], repo_metrics, "argocd-repo-server", repo_log)
        controller_log = root / "argocd-application-controller.log"
        pids.append(
            procs.start_process(
                [
                    str(binary), "--kubeconfig", str(state.kubeconfig),
                    "--namespace", ARGOCD_NAMESPACE,
                    "--repo-server", f"127.0.0.1:{repo_port}", "--repo-server-plaintext",
                    "--redis", redis.address, "--metrics-port", str(controller_metrics),
                    "--status-processors", "2", "--operation-processors", "2",
                    "--logformat", "text", "--loglevel", "info",
                ],
                controller_log,
                env=_environment(root, "argocd-application-controller"),
            )
        )  # fmt: skip
        _wait_healthy(pids[1], controller_metrics, "argocd-application-controller", controller_log)
    except BaseException:
        for pid in reversed(pids):
            procs.stop_process(pid, must_contain=str(root), timeout=15.0)
        redis.stop()
        raise
    return ArgoCD(root, state, redis, pids[0], repo_port, pids[1])


@pytest.fixture(scope="session")
def argocd_binary() -> Path:
    """The Argo CD that `shiplane localcluster build --with argocd` builds."""
    return build_argocd()


def _session_argocd(binary: Path, state: lc.ClusterState) -> Iterator[ArgoCD]:
    root = Path(tempfile.mkdtemp(prefix=f"shiplane-argocd-{state.name}-"))
    try:
        server = start_argocd(root, binary, state)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def argocd(argocd_binary: Path, cluster: lc.ClusterState) -> Iterator[ArgoCD]:
    """Argo CD on 127.0.0.1 for the primary cluster, stopped by PID at the end."""
    yield from _session_argocd(argocd_binary, cluster)


@pytest.fixture(scope="session")
def second_argocd(argocd_binary: Path, second_cluster: lc.ClusterState) -> Iterator[ArgoCD]:
    """Argo CD for the second cluster (`second_cluster`), for pipelines whose environments
    span both; stopped by PID at the end of the session."""
    yield from _session_argocd(argocd_binary, second_cluster)
