"""A real GitOps repository for tests: a bare repository on disk with a checkout, holding
a `shiplane.yaml` and three apps (plain YAML, a kustomize base, a Helm chart)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


PLAIN_APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example/shop/web:0.0.0}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
"""

KUSTOMIZE_BASE = {
    "kustomization.yaml": "resources: [deployment.yaml]\n",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: registry.example/shop/api:0.0.0}
""",
}

HELM_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: pay\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\nimage: registry.example/shop/pay:0.0.0\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: pay
        image: {{ .Values.image }}
""",
}


def project_yaml(
    clusters: dict[str, Path], envs: dict[str, tuple[str, str]], extra: str = ""
) -> str:
    lines = ["apiVersion: shiplane/v1alpha1", "project: shop", "clusters:"]
    lines += [f"  {name}: {{kubeconfig: {path}}}" for name, path in clusters.items()]
    lines.append("environments:")
    previous = None
    for env, (cluster, ns) in envs.items():
        after = f", after: [{previous}]" if previous else ""
        lines.append(f"  {env}: {{cluster: {cluster}, namespace: {ns}{after}{extra}}}")
        previous = env
    lines.append(
        textwrap.dedent("""\
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {path: apps/web, render: plain}
          api:
            images: [registry.example/shop/api]
            manifests: {path: apps/api, render: kustomize}
            dependsOn: [web]
          pay:
            images: [registry.example/shop/pay]
            manifests: {path: apps/pay, render: helm}
        """)
    )
    return "\n".join(lines)


def build_repo(tmp: Path, config: str) -> tuple[Path, Path]:
    bare = tmp / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp / "checkout"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    files = {"shiplane.yaml": config, "apps/web/app.yaml": PLAIN_APP}
    files.update({f"apps/api/{k}": v for k, v in KUSTOMIZE_BASE.items()})
    files.update({f"apps/pay/{k}": v for k, v in HELM_CHART.items()})
    for rel, content in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "push", "-q", "origin", "main")
    return bare, work
