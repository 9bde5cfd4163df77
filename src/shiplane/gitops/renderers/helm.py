"""`helm`: the real `helm template` of the app's chart with the environment's values.

The chart is the directory at the app's manifests path in the repository (dependencies
vendored under `charts/`), or, when the release pins the app's chart version, that exact
chart as pulled into the chart cache beforehand (`gitops/charts.py`); `helm template`
itself downloads nothing (see `tools`).
"""

from __future__ import annotations

import re

from pydantic import Field

from shiplane.gitops.errors import RenderError
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.renderers.context import Document, RenderContext
from shiplane.gitops.renderers.registry import RendererConfig, register_renderer
from shiplane.gitops.renderers.tools import run_tool
from shiplane.gitops.renderers.yamldocs import ManifestError, load_documents

ENV_VALUES_FILES = ("values.yaml", "values.yml")

# `# Source: <chart>/templates/x.yaml` precedes each document of `helm template`.
_SOURCE = re.compile(r"^# Source: (?P<path>\S+)\s*$", re.MULTILINE)
_DOC_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
# Where helm's messages name a template: "template: chart/templates/x.yaml:3:5: ...",
# "parse error at (chart/templates/x.yaml:7)", "YAML parse error on chart/templates/x.yaml".
_TEMPLATE_IN_ERROR = re.compile(r"(?P<path>[\w.\-]+/(?:templates|charts)/[\w./\-]+?\.\w+)")


class HelmConfig(RendererConfig):
    release_name: str | None = Field(default=None, alias="releaseName")
    """Helm release name; defaults to the app name."""
    values_files: tuple[str, ...] = Field(default=(), alias="valuesFiles")
    """Extra repository-relative values files, applied before the environment's."""
    include_crds: bool = Field(default=True, alias="includeCrds")
    skip_tests: bool = Field(default=True, alias="skipTests")
    """Leave out the chart's test hooks (they are for `helm test`)."""
    no_hooks: bool = Field(default=False, alias="noHooks")
    kube_version: str | None = Field(default=None, alias="kubeVersion")
    """`.Capabilities.KubeVersion` seen by templates."""
    api_versions: tuple[str, ...] = Field(default=(), alias="apiVersions")
    """Extra `.Capabilities.APIVersions` seen by templates."""


def split_helm_output(text: str, chart_rel: str) -> list[tuple[str, str]]:
    """(repository-relative source file, YAML text) per document of `helm template`."""
    chunks = []
    for chunk in _DOC_SEPARATOR.split(text):
        match = _SOURCE.search(chunk)
        source = _repo_path(match.group("path"), chart_rel) if match else f"{chart_rel}/Chart.yaml"
        chunks.append((source, chunk))
    return chunks


def _repo_path(helm_path: str, chart_rel: str) -> str:
    # helm names files "<chart name>/templates/x.yaml"; the chart lives at chart_rel.
    _, _, inside = helm_path.partition("/")
    return f"{chart_rel}/{inside}" if inside else chart_rel


def file_from_error(stderr: str, chart_rel: str, values: list[str]) -> str:
    """The file a helm error is about: a template, a values file, or Chart.yaml."""
    for rel in reversed(values):
        if rel in stderr:
            return rel
    match = _TEMPLATE_IN_ERROR.search(stderr)
    if match:
        return _repo_path(match.group("path"), chart_rel)
    if "values.yaml" in stderr:
        return f"{chart_rel}/values.yaml"
    return f"{chart_rel}/Chart.yaml"


@register_renderer("helm", config=HelmConfig)
async def render_helm(ctx: RenderContext, config: HelmConfig) -> list[Document]:
    """`helm template <app> <chart> --namespace <ns> -f envs/<env>/<app>/values.yaml`."""
    chart_rel, chart_arg = ctx.manifests_path, ctx.manifests_path
    if ctx.chart_dir is not None:  # a pinned chart version, pulled outside the tree
        chart_rel, chart_arg = ctx.chart_label or ctx.chart_dir.name, str(ctx.chart_dir)
    elif not (ctx.base_dir / "Chart.yaml").is_file():
        raise ctx.fail(f"{chart_rel}/Chart.yaml", "not a Helm chart: Chart.yaml is missing")
    values: list[str] = []
    for extra in config.values_files:
        try:
            values.append(str(check_repo_path(extra)))
        except ValueError as exc:
            raise ctx.fail(extra, str(exc)) from None
        if not (ctx.repo_dir / extra).is_file():
            raise ctx.fail(extra, "values file listed in the helm config does not exist")
    for name in ENV_VALUES_FILES:
        if (ctx.env_dir / name).is_file():
            values.append(f"{ctx.env_rel}/{name}")
            break
    argv = [
        str(ctx.tools.helm_path()),
        "template",
        config.release_name or ctx.app,
        chart_arg,
        "--namespace",
        ctx.namespace,
    ]
    for rel in values:
        argv += ["--values", rel]
    if config.include_crds:
        argv.append("--include-crds")
    if config.skip_tests:
        argv.append("--skip-tests")
    if config.no_hooks:
        argv.append("--no-hooks")
    if config.kube_version:
        argv += ["--kube-version", config.kube_version]
    for api in config.api_versions:
        argv += ["--api-versions", api]
    try:
        output = await run_tool(ctx, argv, file=f"{chart_rel}/Chart.yaml")
    except RenderError as exc:
        # Point at the template or values file helm complained about when it named one.
        raise ctx.fail(file_from_error(exc.detail, chart_rel, values), exc.detail) from None
    docs: list[Document] = []
    for source, chunk in split_helm_output(output, chart_rel):
        try:
            docs += load_documents(chunk, source)
        except ManifestError as exc:
            raise ctx.fail(source, f"helm output: {exc}") from None
    return docs
