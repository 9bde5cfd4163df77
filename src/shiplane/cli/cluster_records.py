"""Where `shiplane cluster add` keeps what it registered, on the machine that ran it.

One directory per registration under `$SHIPLANE_HOME/registered/<name>/` (mode 0700):
`kubeconfig` (the ServiceAccount's credentials, mode 0600: shiplane.yaml names this path,
never the token) and `registration.json` (which admin context made it, the namespaces, the
token's expiry, and the Secret when the kubeconfig was also stored in a home cluster), so
that `cluster list` can probe and `cluster remove` can undo it."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shiplane.localcluster.paths import shiplane_home


@dataclass
class SecretPlace:
    """The kubeconfig Secret in the cluster Shiplane runs in (in-cluster mode)."""

    namespace: str
    name: str
    kubeconfig: str | None
    context: str | None


@dataclass
class Record:
    name: str
    context: str
    admin_kubeconfig: str
    server: str
    namespaces: list[str]
    system_namespace: str
    token_expires: str
    credentials: str
    secret: SecretPlace | None = None
    created: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def registered_dir() -> Path:
    return shiplane_home() / "registered"


def record_dir(name: str) -> Path:
    return registered_dir() / name


def write_credentials(name: str, text: str) -> Path:
    """The ServiceAccount's kubeconfig, readable by its owner only."""
    directory = record_dir(name)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    path = directory / "kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    path.chmod(0o600)
    return path


def save(record: Record) -> Path:
    path = record_dir(record.name) / "registration.json"
    path.write_text(json.dumps(record.to_json(), indent=2) + "\n")
    return path


def load(name: str) -> Record | None:
    path = record_dir(name) / "registration.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    secret = data.pop("secret", None)
    return Record(**data, secret=SecretPlace(**secret) if secret else None)


def load_all() -> list[Record]:
    root = registered_dir()
    if not root.is_dir():
        return []
    found = [load(p.name) for p in sorted(root.iterdir()) if p.is_dir()]
    return [r for r in found if r is not None]


def forget(name: str) -> None:
    shutil.rmtree(record_dir(name), ignore_errors=True)
