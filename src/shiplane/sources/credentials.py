"""Registry credentials from a docker `config.json`, a file or an environment variable.

Secrets are read when a client is made (so a rotated file is picked up by the next
client) and live only in a `Credentials` whose repr hides the password. Error messages
name where the credentials were looked for, never what was found.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.config.models import RegistryCredentials
from shiplane.domain.errors import InvalidError


class CredentialsError(InvalidError):
    """Credentials are configured but cannot be read."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _pair(text: str, where: str) -> Credentials:
    user, sep, password = text.strip().partition(":")
    if not sep or not password:
        raise CredentialsError(f"{where} does not hold 'username:password'")
    return Credentials(user, password)


def load_credentials(config: RegistryCredentials | None, host: str) -> Credentials | None:
    """The credentials for `host` per `config`; None for anonymous access."""
    if config is None:
        return None
    if config.env is not None:
        value = os.environ.get(config.env)
        if not value:
            raise CredentialsError(f"environment variable {config.env} is not set")
        return _pair(value, f"environment variable {config.env}")
    if config.file is not None:
        path = Path(config.file).expanduser()
        try:
            first = path.read_text().splitlines()[0] if path.stat().st_size else ""
        except OSError as exc:
            raise CredentialsError(f"cannot read credentials file {path}: {exc.strerror}") from None
        return _pair(first, f"credentials file {path}")
    assert config.docker_config is not None
    return from_docker_config(Path(config.docker_config).expanduser(), host)


def from_docker_config(path: Path, host: str) -> Credentials:
    """`auths.<host>` of a docker config.json: `auth` (base64 of user:password) or
    `username` and `password`; keys may be written with a scheme (`https://host/v1/`)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise CredentialsError(f"cannot read docker config {path}: {exc.strerror}") from None
    except ValueError:
        raise CredentialsError(f"docker config {path} is not JSON") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        raise CredentialsError(f"docker config {path} has no 'auths'")
    wanted = _auth_key(host)
    for key, entry in auths.items():
        if _auth_key(str(key)) != wanted or not isinstance(entry, dict):
            continue
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                decoded = base64.b64decode(entry["auth"]).decode()
            except ValueError:
                raise CredentialsError(f"auths.{key}.auth in {path} is not base64") from None
            return _pair(decoded, f"auths.{key}.auth in {path}")
        if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
            return Credentials(entry["username"], entry["password"])
        raise CredentialsError(f"auths.{key} in {path} has neither 'auth' nor a username")
    raise CredentialsError(f"docker config {path} has no credentials for {host}")


def _auth_key(text: str) -> str:
    host = text.split("://", 1)[-1].split("/", 1)[0].lower()
    # Docker Hub's historical key.
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host
