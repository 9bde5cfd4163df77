"""`shiplane init`: the files of a new GitOps repository, and writing them with git.

`scaffold_files` is pure (names in, file contents out) so its result can be validated in
unit tests; `create_project` does the I/O and the first commit with the git CLI.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

ENVIRONMENTS = ("dev", "staging", "prod")
# (app, renderer): one app of plain YAML files and one kustomize base, the two renderers
# that need nothing but the repository.
APPS = (("web", "plain"), ("api", "kustomize"))
# One local cluster per environment (`shiplane localcluster up dev|staging|prod`, which is
# what `make demo` starts); a real project usually shares one cluster for non-prod.
_CLUSTER_OF = {"dev": "dev", "staging": "staging", "prod": "prod"}

# Cluster name -> its kubeconfig path as written into shiplane.yaml. The caller (the CLI)
# knows where local clusters keep their kubeconfigs; the config layer does not.
KubeconfigOf = Callable[[str], str]


class ScaffoldError(Exception):
    """The project cannot be created; the message says why."""


def project_name_for(directory: Path) -> str:
    """A valid project name from the directory name (`My Shop` -> `my-shop`).

    At most 40 characters so that `<project>-staging` is still a valid namespace.
    """
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")[:40]
    return name.strip("-") or "demo"


def _shiplane_yaml(project: str, kubeconfig_of: KubeconfigOf) -> str:
    clusters = "".join(
        f"  {c}:\n    kubeconfig: {kubeconfig_of(c)}\n" for c in dict.fromkeys(_CLUSTER_OF.values())
    )
    return f"""\
# Shiplane project file. Reference: docs/configuration.md; schema: `shiplane schema`.
apiVersion: shiplane/v1alpha1
project: {project}

# Cluster connections. These point at local clusters made by
# `shiplane localcluster up dev` (and staging, prod); `make demo` starts all three.
clusters:
{clusters}
# The environment graph: dev -> staging -> prod.
environments:
  dev:
    cluster: dev
    namespace: {project}-dev
    autoPromote: true          # every new release goes to dev by itself
  staging:
    cluster: staging
    namespace: {project}-staging
    tier: staging
    after: [dev]
    autoPromote: true          # ... then to staging once verified in dev
    verify: [smoke]            # the release's own smoke test must pass here
    rollback: {{onFailure: auto}}
  prod:
    cluster: prod
    namespace: {project}-prod
    tier: production           # its figures are the project's DORA metrics (`shiplane insights`)
    after: [staging]
    soak: 20s                  # verified in staging for at least this long
    approvals: {{required: 1, groups: [release-managers]}}
    # windows: [business-hours]   # uncomment to deploy to prod only in office hours
    verify: [settle]
    rollback: {{onFailure: auto}}

# Apps: image repositories (no tags) and their base manifests under apps/<app>/.
apps:
  web:
    images: [ghcr.io/stefanprodan/podinfo]
    manifests: {{path: apps/web, render: plain}}
  api:
    images: [ghcr.io/stefanprodan/podinfo]
    manifests: {{path: apps/api, render: kustomize}}
    dependsOn: [web]

checks:
  smoke:
    # Runs the release's own image as a Job. (On local clusters an image whose tag ends
    # in -fail fails, one ending in -crashloop never becomes ready: see README.)
    job: {{image: "{{{{image}}}}", args: [smoke-test], timeout: 2m}}
  settle:
    soak: {{duration: 10s}}

windows:
  business-hours:
    allow: {{days: Mon-Fri, from: "09:00", to: "17:00"}}
    timezone: UTC
"""


def _deployment(app: str, image: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  labels: {{app: {app}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
        - name: {app}
          image: {image}
          ports:
            - containerPort: 9898
"""


def _service(app: str) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {app}
spec:
  selector: {{app: {app}}}
  ports:
    - port: 80
      targetPort: 9898
"""


_README = """\
# {project}

A Shiplane GitOps repository.

- `shiplane.yaml`: clusters, the environment graph (dev -> staging -> prod), apps, checks.
- `apps/<app>/`: each app's base manifests (`web`: plain YAML, `api`: a kustomize base).
- `envs/<env>/<app>/`: what each environment runs. Shiplane writes its pin files here, one
  commit per promotion; hand-written patches or values may sit next to them.

Check the file with `shiplane validate shiplane.yaml`.
"""


# Scaffolded only when missing; an existing one is kept (never overwritten, never refused).
OPTIONAL_FILES = ("README.md",)


def scaffold_files(project: str, kubeconfig_of: KubeconfigOf) -> dict[str, str]:
    """Relative path -> content of every file of a new project.

    `kubeconfig_of(cluster)` is the kubeconfig path of each scaffolded cluster (`dev`,
    `staging`, `prod`) as it should appear in `shiplane.yaml`.
    """
    image = "ghcr.io/stefanprodan/podinfo:6.7.0"
    files = {
        "shiplane.yaml": _shiplane_yaml(project, kubeconfig_of),
        "README.md": _README.format(project=project),
        "apps/web/deployment.yaml": _deployment("web", image),
        "apps/web/service.yaml": _service("web"),
        "apps/api/deployment.yaml": _deployment("api", image),
        "apps/api/service.yaml": _service("api"),
        "apps/api/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            "resources:\n  - deployment.yaml\n  - service.yaml\n"
        ),
    }
    for env in ENVIRONMENTS:
        for app, _ in APPS:
            # Git does not track empty directories; .keep makes the layout visible.
            files[f"envs/{env}/{app}/.keep"] = ""
    return files


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
    )


def _run_git(directory: Path, *args: str) -> None:
    try:
        result = _git(directory, *args)
    except FileNotFoundError:
        raise ScaffoldError("git is not installed (needed to create the repository)") from None
    if result.returncode != 0:
        command = next(a for a in args if not a.startswith("-") and "=" not in a)
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ScaffoldError(f"git {command} failed: {detail[-1] if detail else 'no output'}")


def create_project(directory: Path, kubeconfig_of: KubeconfigOf) -> list[str]:
    """Write the scaffold into `directory`, `git init` it and commit; return the paths.

    Nothing is written when any target file exists already, so a second `init` never
    clobbers a user's work; an existing README.md is kept and left out of the commit. In a
    clone (a `.git` already there) the scaffold is committed on the current branch.
    """
    files = scaffold_files(project_name_for(directory), kubeconfig_of)
    # A fresh clone of an empty project repository already has its own README: keep it.
    for rel in OPTIONAL_FILES:
        if (directory / rel).exists():
            del files[rel]
    if (directory / "shiplane.yaml").exists():
        raise ScaffoldError(f"{directory / 'shiplane.yaml'} already exists; not overwriting it")
    existing = [p for p in files if (directory / p).exists()]
    if existing:
        raise ScaffoldError(f"{directory} already has {', '.join(existing)}; not overwriting")
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a directory")
    try:
        for rel, content in files.items():
            target = directory / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ScaffoldError(f"cannot write {directory}: {exc.strerror or exc}") from None

    _run_git(directory, "init", "-q", "--initial-branch=main")
    _run_git(directory, "add", "--", *files)
    identity: list[str] = []
    # A fresh machine (CI, containers) often has no git identity; commit anyway.
    if any(_git(directory, "config", key).returncode != 0 for key in ("user.name", "user.email")):
        identity = ["-c", "user.name=shiplane", "-c", "user.email=shiplane@localhost"]
    message = f"shiplane init: scaffold project {project_name_for(directory)}"
    _run_git(directory, *identity, "commit", "-q", "-m", message, "--", *files)
    return list(files)
