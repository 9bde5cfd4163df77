"""Static assets of the UI under a content hash: `/ui/assets/<digest>/<name>`.

Our own CSS and JavaScript live in git (static/); third-party files (htmx) are copied by
`make assets` from the npm lock into static/vendor/ (git-ignored). Each file's URL names
the SHA-256 of its bytes, so it can be cached forever (`immutable`) and a new version is
a new URL. Files are read once at start: they are few and small.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from shiplane.web.paths import ASSETS_PREFIX

STATIC_DIR = Path(__file__).resolve().parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 16
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    name: str
    digest: str
    body: bytes
    media_type: str

    @property
    def url(self) -> str:
        return f"{ASSETS_PREFIX}/{self.digest}/{self.name}"


def content_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:DIGEST_LENGTH]


class AssetManifest:
    """Every file under `root` by its relative name (POSIX separators)."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self._assets: dict[str, Asset] = {}
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if not path.is_file() or any(p.startswith(".") for p in relative.parts):
                    continue
                name = relative.as_posix()
                body = path.read_bytes()
                media_type = _TYPES.get(path.suffix) or (
                    mimetypes.guess_type(name)[0] or "application/octet-stream"
                )
                self._assets[name] = Asset(name, content_digest(body), body, media_type)

    def url(self, name: str) -> str | None:
        """The hashed URL of `name`, or None when the file is not there (for example
        static/vendor/ before `make assets`: pages then work without htmx)."""
        asset = self._assets.get(name)
        return None if asset is None else asset.url

    def find(self, digest: str, name: str) -> Asset | None:
        """The asset at this URL; None for an unknown name or an outdated digest."""
        asset = self._assets.get(name)
        if asset is None or asset.digest != digest:
            return None
        return asset

    def names(self) -> list[str]:
        return sorted(self._assets)
