"""The CLI's view of the server: where it is, which token to send, and how calls fail.

Every failure is turned into a `CliFailure` carrying one readable line; the command
layer prints it and exits 1. Nothing here prints or logs the token.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

CONFIG_ENV = "SHIPLANE_CONFIG"
SERVER_ENV = "SHIPLANE_SERVER"
TOKEN_ENV = "SHIPLANE_TOKEN"  # noqa: S105 - a variable name, not a secret
CONTEXT_ENV = "SHIPLANE_CONTEXT"
API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_S = 30.0

QueryParams = Mapping[str, str | int | list[str] | None]


class CliFailure(Exception):
    """A failure to report as one line (`error: ...`) with exit code 1."""


class ApiError(CliFailure):
    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(f"{detail} (HTTP {status})")
        self.status = status
        self.detail = detail
        # The request field the server refused (`query.environment`), when it says.
        self.field = field

    @property
    def bad_filter(self) -> bool:
        """A read-only filter the server does not know (a typo): a usage error, exit 2."""
        return self.status == 422 and (self.field or "").startswith("query.")


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path("~/.config/shiplane/config.yaml").expanduser()


def normalize_server(server: str) -> str:
    server = server.strip().rstrip("/")
    if "://" not in server:
        server = "http://" + server
    return server


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str


@dataclass
class Overrides:
    """The root command's `--server`, `--token` and `--context` for this call."""

    server: str | None = None
    token: str | None = None
    context: str | None = None


OVERRIDES = Overrides()


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliFailure(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliFailure(f"{path} is not UTF-8 text; run `shiplane login` again") from None
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise CliFailure(f"{path} is not valid YAML; run `shiplane login` again") from None
    if not isinstance(data, dict):
        raise CliFailure(f"{path} must be a mapping of contexts (see `shiplane context list`)")
    return data


@dataclass(frozen=True)
class Contexts:
    """The CLI config file: named contexts (server + token) and the current one.

    A file written before contexts existed (`server:` and `token:` at the top) reads as
    one context named `default`.
    """

    current: str | None
    contexts: dict[str, Credentials]

    @classmethod
    def parse(cls, data: dict[str, Any], path: Path) -> Contexts:
        contexts: dict[str, Credentials] = {}
        for name, entry in (data.get("contexts") or {}).items():
            if not isinstance(entry, dict) or not entry.get("server") or not entry.get("token"):
                raise CliFailure(f"{path}: context {name!r} needs a server and a token")
            contexts[str(name)] = Credentials(str(entry["server"]), str(entry["token"]))
        current = data.get("current-context")
        if not contexts and data.get("server") and data.get("token"):
            contexts[DEFAULT_CONTEXT] = Credentials(str(data["server"]), str(data["token"]))
            current = DEFAULT_CONTEXT
        return cls(current=str(current) if current else None, contexts=contexts)

    def to_data(self) -> dict[str, Any]:
        return {
            "current-context": self.current,
            "contexts": {
                name: {"server": c.server, "token": c.token}
                for name, c in sorted(self.contexts.items())
            },
        }


DEFAULT_CONTEXT = "default"


def load_contexts(path: Path | None = None) -> Contexts:
    path = path or config_path()
    return Contexts.parse(read_config_file(path), path)


def save_contexts(path: Path, contexts: Contexts) -> None:
    import yaml

    _write_private(path, yaml.safe_dump(contexts.to_data(), sort_keys=False))


def write_config_file(path: Path, credentials: Credentials, name: str = DEFAULT_CONTEXT) -> None:
    """Store `credentials` as context `name` and make it the current one."""
    existing = load_contexts(path) if path.exists() else Contexts(None, {})
    save_contexts(path, Contexts(current=name, contexts={**existing.contexts, name: credentials}))


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600; create the parent directory with mode 0700."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    temporary = parent / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_credentials() -> Credentials:
    """`--server`/`--token` first, then `SHIPLANE_SERVER`/`SHIPLANE_TOKEN`, then the
    context (`--context`, else `SHIPLANE_CONTEXT`, else the current one)."""
    path = config_path()
    stored = load_contexts(path)
    wanted = OVERRIDES.context or os.environ.get(CONTEXT_ENV) or stored.current
    chosen: Credentials | None = None
    if wanted:
        chosen = stored.contexts.get(wanted)
        named = OVERRIDES.context or os.environ.get(CONTEXT_ENV)
        if chosen is None and named:
            known = ", ".join(sorted(stored.contexts)) or "none"
            raise CliFailure(f"no context named {wanted!r} in {path} (known: {known})")
    server = OVERRIDES.server or os.environ.get(SERVER_ENV) or (chosen and chosen.server)
    token = OVERRIDES.token or os.environ.get(TOKEN_ENV) or (chosen and chosen.token)
    if not server or not token:
        missing = "server" if not server else "token"
        raise CliFailure(
            f"no {missing} configured: run `shiplane login SERVER --token TOKEN`, "
            f"pass --server and --token, or set {SERVER_ENV} and {TOKEN_ENV}"
        )
    return Credentials(server=normalize_server(str(server)), token=str(token).strip())


def _problem_detail_and_field(status: int, reason: str, body: bytes) -> tuple[str, str | None]:
    """The problem's detail with its hint (`did you mean 'staging'?`), and its field."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        hint = data.get("hint")
        field = data.get("field")
        detail = str(data["detail"]) + (f"; {hint}" if isinstance(hint, str) and hint else "")
        return detail, field if isinstance(field, str) else None
    text = body.decode("utf-8", "replace").strip().splitlines()
    return (text[0][:200] if text else reason or f"HTTP {status}"), None


class ApiClient:
    """A small JSON client on the standard library's http.client: importing httpx costs
    more than the whole start-up budget of a CLI call (docs/cli.md). One connection per
    request; the CLI makes one or two."""

    def __init__(self, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = credentials.server
        parts = urlsplit(credentials.server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliFailure(f"{credentials.server!r} is not an http(s) server URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/") + API_PREFIX
        self._headers = {
            "Authorization": f"Bearer {credentials.token}",
            "Accept": "application/json",
            "User-Agent": "shiplane-cli",
        }
        self._timeout = timeout

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def _transport_failure(self, exc: BaseException) -> CliFailure:
        if isinstance(exc, ConnectionRefusedError | socket.gaierror):
            return CliFailure(
                f"cannot connect to the Shiplane server at {self.server} "
                f"({_reason(exc)}); is it running? Start one with `shiplane serve`, "
                "or point to another with `shiplane login SERVER --token TOKEN`"
            )
        if isinstance(exc, TimeoutError):
            return CliFailure(f"the Shiplane server at {self.server} did not answer in time")
        return CliFailure(f"request to {self.server} failed: {_reason(exc)}")

    def _open(
        self, method: str, path: str, params: QueryParams | None, body: Any, timeout: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        url = self._base + path + ("?" + urlencode(clean, doseq=True) if clean else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._https:
            import ssl

            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        try:
            connection.request(method, url, body=data, headers=headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self._transport_failure(exc) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
    ) -> Any:
        connection, response = self._open(method, path, params, json, self._timeout)
        try:
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._transport_failure(exc) from None
        finally:
            connection.close()
        if response.status >= 400:
            detail, field = _problem_detail_and_field(response.status, response.reason, content)
            raise ApiError(response.status, detail, field)
        if response.status == 204 or not content:
            return None
        try:
            return _json_loads(content)
        except ValueError:
            raise CliFailure(f"the server at {self.server} sent a non-JSON answer") from None

    def get(self, path: str, params: QueryParams | None = None) -> Any:
        return self.request("GET", path, params=params)

    def stream_lines(
        self, path: str, params: QueryParams | None = None, *, read_timeout: float = 300.0
    ) -> Iterator[str]:
        """The body's lines as they arrive (JSON lines, server-sent events)."""
        connection, response = self._open("GET", path, params, None, read_timeout)
        try:
            if response.status >= 400:
                problem = _problem_detail_and_field(
                    response.status, response.reason, response.read()
                )
                raise ApiError(response.status, *problem)
            for raw in response:
                yield raw.decode("utf-8", "replace").rstrip("\r\n")
        except (OSError, http.client.HTTPException) as exc:
            raise self._transport_failure(exc) from None
        finally:
            connection.close()


def _json_loads(content: bytes) -> Any:
    return json.loads(content)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_client() -> ApiClient:
    return ApiClient(load_credentials())
