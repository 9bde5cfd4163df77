"""Git credentials: where they come from and how git gets them without seeing them in
argv, URLs or `.git/config`.

git asks a `GIT_ASKPASS` program for the username and the password. Ours is a fixed
script that echoes two environment variables set only in the environment of the git
process that needs them, so the secret lives in no file and no command line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.gitops.redact import split_userinfo

ENV_USERNAME = "SHIPLANE_GIT_USERNAME"
ENV_PASSWORD = "SHIPLANE_GIT_PASSWORD"  # noqa: S105 (a variable name, not a secret)

# Variables read by the askpass script; distinct from the user-facing ones above so a
# user's shell variables are never echoed to a server Shiplane did not mean to talk to.
ASKPASS_USERNAME = "SHIPLANE_ASKPASS_USERNAME"
ASKPASS_PASSWORD = "SHIPLANE_ASKPASS_PASSWORD"  # noqa: S105 (a variable name)

# git calls the program with a prompt such as "Username for 'https://host': " or
# "Password for 'https://user@host': ".
_ASKPASS_SCRIPT = f"""#!/bin/sh
# Written by Shiplane: answers git's credential prompts from the environment.
case "$1" in
  Username*|username*) printf '%s\\n' "${ASKPASS_USERNAME}" ;;
  *) printf '%s\\n' "${ASKPASS_PASSWORD}" ;;
esac
"""


@dataclass(frozen=True, slots=True)
class GitCredentials:
    """Username and password (or token) for an HTTP(S) remote."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitCredentials | None:
        """Credentials from SHIPLANE_GIT_USERNAME / SHIPLANE_GIT_PASSWORD, if set.

        A password without a username uses the username "git" (tokens on most forges
        accept any username).
        """
        env = os.environ if environ is None else environ
        password = env.get(ENV_PASSWORD)
        if not password:
            return None
        return cls(username=env.get(ENV_USERNAME) or "git", password=password)

    def askpass_env(self, script: Path) -> dict[str, str]:
        """Environment entries that let git authenticate through `script`."""
        return {
            "GIT_ASKPASS": str(script),
            ASKPASS_USERNAME: self.username,
            ASKPASS_PASSWORD: self.password,
        }


def ensure_askpass_script(directory: Path) -> Path:
    """Write the askpass script into `directory` (once) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "askpass.sh"
    content = _ASKPASS_SCRIPT.encode()
    if not path.is_file() or path.read_bytes() != content:
        tmp = directory / f".askpass.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        tmp.write_bytes(content)
        tmp.chmod(0o700)
        tmp.replace(path)
    return path


def resolve_credentials(
    remote_url: str, given: GitCredentials | None
) -> tuple[str, GitCredentials | None]:
    """`remote_url` without its userinfo (git never sees a password in a URL), and the
    credentials to use: `given`, else the URL's userinfo, else the environment's."""
    clean_url, user, password = split_userinfo(remote_url)
    if given is None and password is not None:
        given = GitCredentials(username=user or "git", password=password)
    if given is None:
        given = GitCredentials.from_env()
    return clean_url, given


def askpass_setup(
    cache_dir: Path, credentials: GitCredentials | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """(environment entries, secrets to scrub from output) for git to authenticate."""
    if credentials is None:
        return {}, ()
    script = ensure_askpass_script(cache_dir)
    return credentials.askpass_env(script), (credentials.password,)
