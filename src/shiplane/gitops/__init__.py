"""Shiplane gitops layer (see DESIGN.md, Architecture): the git workspace that records
desired state, environment pins, and the renderers that turn a commit into objects.

Public API (see docs/gitops.md):
- `GitWorkspace`, `CommitResult`, `CommitInfo`, `GitCredentials`
- `Pin`, `PinImage`, `pin_path`, `dump_pin`, `load_pin`, `promotion_message`,
  `promotion_trailers`
- `render_app`, `register_renderer`, `RENDERERS` (the renderer registry)
- errors: `GitError`, `GitConflictError`, `PinError`, `RenderError`
"""

from shiplane.gitops.commits import CommitResult
from shiplane.gitops.credentials import GitCredentials
from shiplane.gitops.errors import (
    GitConflictError,
    GitError,
    PinError,
    RenderError,
)
from shiplane.gitops.history import CommitInfo
from shiplane.gitops.pins import (
    Pin,
    PinImage,
    dump_pin,
    load_pin,
    pin_path,
    promotion_message,
    promotion_trailers,
)
from shiplane.gitops.renderers import RENDERERS, register_renderer, render_app
from shiplane.gitops.workspace import GitWorkspace

__all__ = [
    "RENDERERS",
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
    "dump_pin",
    "load_pin",
    "pin_path",
    "promotion_message",
    "promotion_trailers",
    "register_renderer",
    "render_app",
]
