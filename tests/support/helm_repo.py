"""A Helm chart repository for tests: charts packaged and indexed by the real `helm`
binary, served by a plain HTTP server on 127.0.0.1 (stopped by the context manager)."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shiplane.localcluster.build import binary_path

CONFIGMAP_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-chart
data:
  chartVersion: "{{ .Chart.Version }}"
  color: "{{ .Values.color }}"
"""


def helm_binary() -> Path:
    return Path(os.environ.get("SHIPLANE_HELM") or binary_path("helm", "helm"))


def package_charts(root: Path, name: str, versions: Mapping[str, str], into: Path) -> None:
    """`helm package` chart `name` at each version (its one template: the text given)."""
    env = {**os.environ, "HELM_CACHE_HOME": str(root / "hc"),
           "HELM_CONFIG_HOME": str(root / "hf"), "HELM_DATA_HOME": str(root / "hd")}  # fmt: skip
    into.mkdir(parents=True, exist_ok=True)
    for version, template in versions.items():
        chart = root / f"src-{name}-{version}" / name
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
        (chart / "values.yaml").write_text("color: grey\n")
        (chart / "templates" / "configmap.yaml").write_text(template)
        subprocess.run([str(helm_binary()), "package", str(chart), "-d", str(into)],
                       check=True, capture_output=True, env=env)  # fmt: skip


def index(root: Path, served: Path, url: str) -> None:
    env = {**os.environ, "HELM_CACHE_HOME": str(root / "hc"),
           "HELM_CONFIG_HOME": str(root / "hf"), "HELM_DATA_HOME": str(root / "hd")}  # fmt: skip
    subprocess.run([str(helm_binary()), "repo", "index", str(served), "--url", url],
                   check=True, capture_output=True, env=env)  # fmt: skip


@contextmanager
def served_helm_repo(root: Path, name: str, versions: Mapping[str, str]) -> Iterator[str]:
    """Serve chart `name` at `versions` (version -> template text); yields the URL.
    More versions can be added later with `package_charts` + `index` into `root/charts`."""
    served = root / "charts"
    package_charts(root, name, versions, served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    index(root, served, url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
