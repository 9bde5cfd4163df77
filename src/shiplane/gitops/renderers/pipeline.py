"""render_app: pinned contents -> renderer -> pinned images -> namespace -> duplicate
check -> order.

The output is a pure function of (repository commit, app, environment) plus the
target namespace and the cluster's scope table: the renderers read only the exported
commit, the tools get no network, and the transforms are pure. A pin that names a config
commit renders the app's manifests as they were at that commit, and one that names a
chart version renders that exact chart (both content-addressed: a commit's tree, a
chart verified against its digest), supplied by `contents`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel

from shiplane.domain.errors import ShiplaneError
from shiplane.domain.registry import PluginConfigError, UnknownPluginError
from shiplane.gitops.errors import GitError, RenderError
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.pins import Pin, pin_path
from shiplane.gitops.renderers.context import PinnedContents, RenderContext, Tools
from shiplane.gitops.renderers.registry import RENDERERS
from shiplane.gitops.renderers.transform import (
    IsNamespaced,
    apply_images,
    find_duplicates,
    inject_namespace,
    sort_documents,
)

log = structlog.get_logger(__name__)


async def render_app(
    repo_dir: Path,
    *,
    app: str,
    environment: str,
    namespace: str,
    manifests_path: str,
    renderer: str,
    pin: Pin | None,
    is_namespaced: IsNamespaced,
    renderer_config: Mapping[str, Any] | BaseModel | None = None,
    tools: Tools | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109 (per tool run, see RenderContext.timeout)
    contents: PinnedContents | None = None,
) -> list[dict[str, Any]]:
    """The objects to apply for `app` in `environment`, in apply order.

    `repo_dir` is an exported commit (`GitWorkspace.read_tree`). `is_namespaced`
    answers from API discovery (None when the kind is unknown). `contents` supplies a
    pinned chart or config commit (a pin naming one without it is a RenderError).
    Raises RenderError.
    """

    def fail(file: str, detail: str) -> RenderError:
        return RenderError(app=app, environment=environment, file=file, detail=detail)

    try:
        manifests_path = str(check_repo_path(manifests_path.rstrip("/")))
    except ValueError as exc:
        raise fail(manifests_path, str(exc)) from None
    try:
        render = RENDERERS.get(renderer).plugin
        config = RENDERERS.parse_config(renderer, renderer_config or {})
    except (UnknownPluginError, PluginConfigError) as exc:
        raise fail("shiplane.yaml", str(exc)) from None
    repo_dir, chart_dir, chart_label = await _pinned_contents(
        repo_dir, app, manifests_path, renderer, pin, contents, fail, environment
    )
    ctx = RenderContext(
        repo_dir=repo_dir,
        app=app,
        environment=environment,
        namespace=namespace,
        manifests_path=manifests_path,
        timeout=timeout,
        tools=tools or Tools(),
        chart_dir=chart_dir,
        chart_label=chart_label,
    )
    docs = await render(ctx, config)
    if pin is not None:
        docs, matched = apply_images(docs, {image.repository: image.image for image in pin.images})
        unmatched = sorted({image.repository for image in pin.images} - matched)
        if unmatched:
            # Not fatal (a chart may take an image through a CRD field), but worth saying:
            # the release's image is not visibly deployed by these manifests.
            log.warning(
                "gitops.render.pinned_image_unused",
                app=app,
                environment=environment,
                repositories=unmatched,
            )
    docs = inject_namespace(docs, namespace, is_namespaced)
    duplicates = find_duplicates(docs)
    if duplicates:
        first, later = duplicates[0]
        meta = later.obj["metadata"]
        where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
        raise fail(
            later.source,
            f"{later.obj['kind']} {where}{meta['name']} is also defined in {first.source}",
        )
    return [doc.obj for doc in sort_documents(docs)]


async def _pinned_contents(
    repo_dir: Path,
    app: str,
    manifests_path: str,
    renderer: str,
    pin: Pin | None,
    contents: PinnedContents | None,
    fail: Callable[[str, str], RenderError],
    environment: str,
) -> tuple[Path, Path | None, str | None]:
    """The tree to render (with the pinned commit's manifests) and the pinned chart."""
    if pin is None or (pin.config is None and pin.chart is None):
        return repo_dir, None, None
    pin_file = pin_path(environment, app)
    if contents is None:
        raise fail(
            pin_file, "the pin names a chart or config commit, and nothing here can fetch it"
        )
    if pin.config is not None:
        try:
            repo_dir = await contents.tree_at(repo_dir, app, manifests_path, pin.config.commit)
        except (ShiplaneError, GitError, OSError) as exc:
            raise fail(
                manifests_path, f"at pinned commit {pin.config.commit[:12]}: {exc}"
            ) from None
    if pin.chart is None:
        return repo_dir, None, None
    label = f"chart:{pin.chart.name}@{pin.chart.version}"
    if renderer != "helm":
        raise fail(
            pin_file,
            f"the release pins {label}, but app {app!r} renders with {renderer!r}: a chart "
            "version is rendered by helm (set manifests.render: helm)",
        )
    try:
        chart_dir = await contents.chart(app, pin.chart)
    except (ShiplaneError, OSError) as exc:
        raise fail(label, str(exc)) from None
    return repo_dir, chart_dir, label
