"""Renderers with the real helm and kustomize binaries on repository trees on disk."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shiplane.gitops import GitWorkspace, Pin, PinImage, RenderError, dump_pin, render_app
from shiplane.localcluster.build import binary_path
from tests.integration.gitops.conftest import BareRepoFactory

HELM = binary_path("helm", "helm")
KUSTOMIZE = binary_path("kustomize", "kustomize")
needs_helm = pytest.mark.skipif(
    not HELM.is_file(), reason="helm not built (shiplane localcluster build)"
)
needs_kustomize = pytest.mark.skipif(
    not KUSTOMIZE.is_file(), reason="kustomize not built (shiplane localcluster build)"
)

IMAGE_REPO = "registry.example/shop/{app}"
PINNED = "registry.example/shop/{app}:2.0.0@sha256:" + "c" * 64


def pin_for(app: str) -> Pin:
    repo = IMAGE_REPO.format(app=app)
    return Pin(
        app=app,
        release="rel-" + "1" * 20,
        alias="2.0.0",
        images=(PinImage(repository=repo, ref=f"{repo}:2.0.0", digest="sha256:" + "c" * 64),),
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def deployment(app: str, image_tag: str = "1.0.0") -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {app}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: {app}}}}}
          template:
            metadata: {{labels: {{app: {app}}}}}
            spec:
              initContainers:
                - {{name: init, image: "{IMAGE_REPO.format(app=app)}:{image_tag}"}}
              containers:
                - {{name: main, image: "{IMAGE_REPO.format(app=app)}:{image_tag}"}}
                - {{name: sidecar, image: "docker.io/library/busybox:1.36"}}
        """)


SERVICE = textwrap.dedent("""\
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      ports: [{port: 80}]
    """)


def discovery(api_version: str, kind: str) -> bool | None:
    """A stand-in for API discovery: knows the built-in kinds used here."""
    table = {("v1", "Namespace"): False, ("v1", "ConfigMap"): True, ("v1", "Service"): True}
    return table.get((api_version, kind))


def render(repo: Path, app: str, renderer: str, env: str = "staging", **kw: Any) -> list[dict]:
    return asyncio.run(
        render_app(
            repo,
            app=app,
            environment=env,
            namespace=f"shop-{env}",
            manifests_path=f"apps/{app}",
            renderer=renderer,
            pin=kw.pop("pin", pin_for(app)),
            is_namespaced=discovery,
            **kw,
        )
    )


def kinds(objs: list[dict]) -> list[tuple[str, str, str | None]]:
    return [(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objs]


def images(obj: dict) -> list[str]:
    spec = obj["spec"]["template"]["spec"]
    return [c["image"] for c in spec.get("initContainers", []) + spec["containers"]]


# --- plain ----------------------------------------------------------------------------


def plain_repo(root: Path) -> Path:
    return write(
        root,
        {
            "apps/web/deployment.yaml": deployment("web") + "---\n# only a comment\n---\n",
            "apps/web/service.yml": SERVICE,
            "apps/web/cluster/ns-and-crd.yaml": """\
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop-extra}
                ---
                apiVersion: apiextensions.k8s.io/v1
                kind: CustomResourceDefinition
                metadata: {name: widgets.example.com, namespace: ignored}
                spec: {group: example.com}
                ---
                apiVersion: example.com/v1
                kind: Widget
                metadata: {name: w1}
                created: 2024-01-01
                """,
            "apps/web/README.md": "not a manifest",
            "apps/web/.hidden.yaml": "this: is skipped",
            "envs/staging/web/shiplane.pin.yaml": dump_pin(pin_for("web")).decode(),
            "envs/staging/web/kustomization.yaml": "resources: []\n",
            "envs/staging/web/extra.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: web-env}
                data: {LEVEL: debug}
                """,
        },
    )


def test_plain_renders_base_and_environment_objects(tmp_path: Path) -> None:
    objs = render(plain_repo(tmp_path), "web", "plain")
    assert kinds(objs) == [
        ("Namespace", "shop-extra", None),
        ("CustomResourceDefinition", "widgets.example.com", None),
        ("ConfigMap", "web-env", "shop-staging"),
        ("Deployment", "web", "shop-staging"),
        ("Service", "web", "shop-staging"),
        ("Widget", "w1", "shop-staging"),
    ]
    deploy = objs[3]
    pinned = PINNED.format(app="web")
    assert images(deploy) == [pinned, pinned, "docker.io/library/busybox:1.36"]
    assert objs[5]["created"] == "2024-01-01"  # dates stay strings, as kubectl keeps them


def test_plain_errors_name_app_environment_and_file(tmp_path: Path) -> None:
    repo = plain_repo(tmp_path)
    (repo / "apps/web/broken.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"
    )
    with pytest.raises(RenderError) as info:
        render(repo, "web", "plain")
    err = info.value
    assert (err.app, err.environment, err.file) == ("web", "staging", "apps/web/broken.yaml")
    assert "'web'" in str(err) and "'staging'" in str(err) and "line" in err.detail

    (repo / "apps/web/broken.yaml").write_text("- just\n- a list\n")
    with pytest.raises(RenderError, match=r"apps/web/broken.yaml: document 1 is a list"):
        render(repo, "web", "plain")

    (repo / "apps/web/broken.yaml").write_bytes(b"kind: ConfigMap\ndata: {a: caf\xe9}\n")
    with pytest.raises(RenderError, match=r"line 2, column 14: not UTF-8 text: byte 0xe9"):
        render(repo, "web", "plain")

    (repo / "apps/web/broken.yaml").write_bytes(b"kind: ConfigMap\n\x00\n")
    with pytest.raises(RenderError, match=r"line 2, column 1: a NUL byte"):
        render(repo, "web", "plain")

    (repo / "apps/web/broken.yaml").write_text(SERVICE)  # same Service as service.yml
    with pytest.raises(RenderError, match="Service shop-staging/web is also defined in apps/web/b"):
        render(repo, "web", "plain")


def test_unknown_renderer_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        RenderError, match=r"unknown renderer 'jsonnet' \(known: helm, kustomize, plain\)"
    ):
        render(plain_repo(tmp_path), "web", "jsonnet")
    with pytest.raises(RenderError, match="renderer 'plain': nope: Extra inputs"):
        render(plain_repo(tmp_path), "web", "plain", renderer_config={"nope": 1})


def test_plain_render_of_an_exported_commit_is_deterministic(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    files = {
        rel: textwrap.dedent(text)
        for rel, text in {
            "apps/web/deployment.yaml": deployment("web"),
            "apps/web/service.yml": SERVICE,
        }.items()
    }
    ws = GitWorkspace(str(bare_repo(files)), tmp_path / "cache")

    async def twice() -> tuple[list[dict], list[dict]]:
        tree = await ws.read_tree(await ws.sync())
        kw = dict(
            app="web", environment="qa", namespace="shop-qa", manifests_path="apps/web",
            renderer="plain", pin=pin_for("web"), is_namespaced=discovery,
        )  # fmt: skip
        return await render_app(tree, **kw), await render_app(tree, **kw)  # type: ignore[arg-type]

    first, second = asyncio.run(twice())
    assert json.dumps(first) == json.dumps(second)
    assert [o["kind"] for o in first] == ["Deployment", "Service"]


# --- kustomize ------------------------------------------------------------------------


def kustomize_repo(root: Path, *, overlay: bool = True) -> Path:
    files = {
        "apps/api/kustomization.yaml": """\
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources: [deployment.yaml, service.yaml]
            """,
        "apps/api/deployment.yaml": deployment("api"),
        "apps/api/service.yaml": SERVICE.replace("web", "api"),
        "envs/staging/api/shiplane.pin.yaml": dump_pin(pin_for("api")).decode(),
    }
    if overlay:
        files["envs/staging/api/kustomization.yaml"] = """\
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources: [../../../apps/api, configmap.yaml]
            patches:
              - target: {kind: Deployment, name: api}
                patch: |
                  - op: replace
                    path: /spec/replicas
                    value: 3
            """
        files["envs/staging/api/configmap.yaml"] = """\
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: api-env}
            """
    return write(root, files)


@needs_kustomize
def test_kustomize_builds_the_environment_overlay(tmp_path: Path) -> None:
    repo = kustomize_repo(tmp_path)
    objs = render(repo, "api", "kustomize")
    assert kinds(objs) == [
        ("ConfigMap", "api-env", "shop-staging"),
        ("Deployment", "api", "shop-staging"),
        ("Service", "api", "shop-staging"),
    ]
    assert objs[1]["spec"]["replicas"] == 3
    assert images(objs[1])[:2] == [PINNED.format(app="api")] * 2
    assert json.dumps(objs) == json.dumps(render(repo, "api", "kustomize"))


@needs_kustomize
def test_kustomize_without_overlay_builds_the_base(tmp_path: Path) -> None:
    objs = render(kustomize_repo(tmp_path, overlay=False), "api", "kustomize")
    assert kinds(objs) == [
        ("Deployment", "api", "shop-staging"),
        ("Service", "api", "shop-staging"),
    ]
    assert objs[0]["spec"]["replicas"] == 1


@needs_kustomize
def test_broken_kustomization_names_the_file_and_what_kustomize_said(tmp_path: Path) -> None:
    repo = kustomize_repo(tmp_path)
    (repo / "envs/staging/api/kustomization.yaml").write_text(
        "resources: [../../../apps/api, missing.yaml]\n"
    )
    with pytest.raises(RenderError) as info:
        render(repo, "api", "kustomize")
    err = info.value
    assert (err.app, err.environment) == ("api", "staging")
    assert err.file == "envs/staging/api/kustomization.yaml"
    assert "kustomize failed" in err.detail and "missing.yaml" in err.detail
    assert str(tmp_path) not in err.detail  # paths are shown relative to the repository


# --- helm -----------------------------------------------------------------------------


def helm_repo(root: Path) -> Path:
    return write(
        root,
        {
            "apps/payments/Chart.yaml": """\
                apiVersion: v2
                name: payments
                version: 0.3.0
                """,
            "apps/payments/values.yaml": """\
                replicaCount: 1
                image: registry.example/shop/payments:0.0.1
                """,
            "apps/payments/templates/deployment.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: {{ .Release.Name }}
                  labels: {chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"}
                spec:
                  replicas: {{ .Values.replicaCount }}
                  selector: {matchLabels: {app: {{ .Release.Name }}}}
                  template:
                    metadata: {labels: {app: {{ .Release.Name }}}}
                    spec:
                      containers:
                        - name: main
                          image: {{ .Values.image }}
                """,
            "apps/payments/templates/service.yaml": """\
                apiVersion: v1
                kind: Service
                metadata: {name: {{ .Release.Name }}, namespace: {{ .Release.Namespace }}}
                spec: {ports: [{port: 80}]}
                """,
            "apps/payments/templates/tests/test-connection.yaml": """\
                apiVersion: v1
                kind: Pod
                metadata:
                  name: payments-test
                  annotations: {"helm.sh/hook": test}
                spec: {containers: [{name: t, image: busybox}]}
                """,
            "envs/staging/payments/values.yaml": "replicaCount: 2\n",
            "envs/staging/payments/shiplane.pin.yaml": dump_pin(pin_for("payments")).decode(),
        },
    )


@needs_helm
def test_helm_templates_the_chart_with_environment_values(tmp_path: Path) -> None:
    repo = helm_repo(tmp_path)
    objs = render(repo, "payments", "helm")
    assert kinds(objs) == [
        ("Deployment", "payments", "shop-staging"),
        ("Service", "payments", "shop-staging"),
    ]
    deploy = objs[0]
    assert deploy["spec"]["replicas"] == 2
    assert deploy["metadata"]["labels"]["chart"] == "payments-0.3.0"
    assert images(deploy) == [PINNED.format(app="payments")]
    assert json.dumps(objs) == json.dumps(render(repo, "payments", "helm"))
    # Another environment without a values file gets the chart's defaults.
    assert render(repo, "payments", "helm", env="qa")[0]["spec"]["replicas"] == 1


@needs_helm
def test_broken_chart_names_the_template(tmp_path: Path) -> None:
    repo = helm_repo(tmp_path)
    (repo / "apps/payments/templates/service.yaml").write_text(
        "metadata: {name: {{ .Release.Name }\n"
    )
    with pytest.raises(RenderError) as info:
        render(repo, "payments", "helm")
    err = info.value
    assert (err.app, err.environment) == ("payments", "staging")
    assert err.file == "apps/payments/templates/service.yaml"
    assert "helm failed" in err.detail

    (repo / "apps/payments/templates/service.yaml").unlink()
    (repo / "envs/staging/payments/values.yaml").write_text("replicaCount: [unclosed\n")
    with pytest.raises(RenderError) as info:
        render(repo, "payments", "helm")
    assert info.value.file == "envs/staging/payments/values.yaml"

    (repo / "apps/payments/Chart.yaml").unlink()
    with pytest.raises(RenderError, match=r"apps/payments/Chart.yaml: not a Helm chart"):
        render(repo, "payments", "helm")


# --- the pin file is never an input ------------------------------------------------------


@pytest.mark.parametrize(
    ("renderer", "app", "make_repo"),
    [
        ("plain", "web", plain_repo),
        pytest.param("kustomize", "api", kustomize_repo, marks=needs_kustomize),
        pytest.param("helm", "payments", helm_repo, marks=needs_helm),
    ],
)
def test_the_pin_file_does_not_change_a_render(
    tmp_path: Path, renderer: str, app: str, make_repo: Any
) -> None:
    """A deploy renders HEAD with the new pins in memory before committing them (no copy
    of the tree with the pin file written): that is only sound while no renderer reads
    the pin file, with or without one in git, whatever it says."""
    repo = make_repo(tmp_path)
    pin_file = repo / "envs/staging" / app / "shiplane.pin.yaml"
    with_pin = render(repo, app, renderer)
    pin_file.unlink(missing_ok=True)
    without = render(repo, app, renderer)
    other = Pin(app=app, release="rel-" + "2" * 20, alias="9.9.9", images=())
    pin_file.parent.mkdir(parents=True, exist_ok=True)
    pin_file.write_bytes(dump_pin(other))
    with_other = render(repo, app, renderer)
    assert json.dumps(with_pin) == json.dumps(without) == json.dumps(with_other)
    assert PINNED.format(app=app) in json.dumps(with_pin)
