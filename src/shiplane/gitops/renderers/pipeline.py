"""render_app: renderer -> pinned images -> namespace -> duplicate check -> order.

The output is a pure function of (repository commit, app, environment) plus the
target namespace and the cluster's scope table: the renderers read only the exported
commit, the tools get no network, and the transforms are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel

from shiplane.domain.registry import PluginConfigError, UnknownPluginError
from shiplane.gitops.errors import RenderError
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.pins import Pin
from shiplane.gitops.renderers.context import RenderContext, Tools
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
) -> list[dict[str, Any]]:
    """The objects to apply for `app` in `environment`, in apply order.

    `repo_dir` is an exported commit (`GitWorkspace.read_tree`). `is_namespaced`
    answers from API discovery (None when the kind is unknown). Raises RenderError.
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
    ctx = RenderContext(
        repo_dir=repo_dir,
        app=app,
        environment=environment,
        namespace=namespace,
        manifests_path=manifests_path,
        timeout=timeout,
        tools=tools or Tools(),
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
