"""Shiplane gitops layer (see DESIGN.md, Architecture): the git workspace that records
desired state, environment pins, and the renderers that turn a commit into objects.

Public API (see docs/gitops.md):
- `GitWorkspace`, `CommitResult`, `CommitInfo`, `GitCredentials`
- `Pin`, `PinImage`, `pin_path`, `dump_pin`, `load_pin`, `promotion_message`,
  `promotion_trailers`
- `render_app`, `register_renderer`, `get_renderer`, `renderer_names`
- errors: `GitError`, `GitConflictError`, `PinError`, `RenderError`, `UnknownRendererError`
"""

from shiplane.gitops.credentials import GitCredentials
from shiplane.gitops.errors import (
    GitConflictError,
    GitError,
    PinError,
    RenderError,
    UnknownRendererError,
)
from shiplane.gitops.pins import (
    Pin,
    PinImage,
    dump_pin,
    load_pin,
    pin_path,
    promotion_message,
    promotion_trailers,
)
from shiplane.gitops.renderers import get_renderer, register_renderer, render_app, renderer_names
from shiplane.gitops.workspace import CommitInfo, CommitResult, GitWorkspace

__all__ = [
    "CommitInfo",
    "CommitResult",
    "GitConflictError",
    "GitCredentials",
    "GitError",
    "GitWorkspace",
    "Pin",
    "PinError",
    "PinImage",
    "RenderError",
    "UnknownRendererError",
    "dump_pin",
    "get_renderer",
    "load_pin",
    "pin_path",
    "promotion_message",
    "promotion_trailers",
    "register_renderer",
    "render_app",
    "renderer_names",
]
