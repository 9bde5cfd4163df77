"""The CLI's view of the server: where it is, which token to send, and how calls fail.

Every failure is turned into a `CliFailure` carrying one readable line; the command
layer prints it and exits 1. Nothing here prints or logs the token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

CONFIG_ENV = "SHIPLANE_CONFIG"
SERVER_ENV = "SHIPLANE_SERVER"
TOKEN_ENV = "SHIPLANE_TOKEN"  # noqa: S105 - a variable name, not a secret
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


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliFailure(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise CliFailure(f"{path} is not valid YAML; run `shiplane login` again") from None
    if not isinstance(data, dict):
        raise CliFailure(f"{path} must be a mapping with 'server' and 'token'")
    return data


def write_config_file(path: Path, credentials: Credentials) -> None:
    """Write atomically with mode 0600; create the parent directory with mode 0700."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    text = yaml.safe_dump({"server": credentials.server, "token": credentials.token})
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
    """Environment first (`SHIPLANE_SERVER`, `SHIPLANE_TOKEN`), then the config file."""
    path = config_path()
    stored = read_config_file(path)
    server = os.environ.get(SERVER_ENV) or stored.get("server")
    token = os.environ.get(TOKEN_ENV) or stored.get("token")
    if not server or not token:
        missing = "server" if not server else "token"
        raise CliFailure(
            f"no {missing} configured: run `shiplane login SERVER --token TOKEN` "
            f"or set {SERVER_ENV} and {TOKEN_ENV}"
        )
    return Credentials(server=normalize_server(str(server)), token=str(token))


def _problem_detail_and_field(response: httpx.Response) -> tuple[str, str | None]:
    """The problem's detail with its hint (`did you mean 'staging'?`), and its field."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        hint = body.get("hint")
        field = body.get("field")
        detail = str(body["detail"]) + (f"; {hint}" if isinstance(hint, str) and hint else "")
        return detail, field if isinstance(field, str) else None
    text = response.text.strip().splitlines()
    return (text[0][:200] if text else response.reason_phrase or "request failed"), None


class ApiClient:
    def __init__(self, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = credentials.server
        self._http = httpx.Client(
            base_url=credentials.server + API_PREFIX,
            headers={"Authorization": f"Bearer {credentials.token}"},
            timeout=timeout,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def _transport_failure(self, exc: httpx.TransportError) -> CliFailure:
        if isinstance(exc, httpx.ConnectError):
            return CliFailure(
                f"cannot connect to the Shiplane server at {self.server} "
                f"({_reason(exc)}); is it running? Start one with `shiplane serve`, "
                "or point to another with `shiplane login SERVER --token TOKEN`"
            )
        if isinstance(exc, httpx.TimeoutException):
            return CliFailure(f"the Shiplane server at {self.server} did not answer in time")
        return CliFailure(f"request to {self.server} failed: {_reason(exc)}")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        try:
            response = self._http.request(method, path, params=clean, json=json)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, *_problem_detail_and_field(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliFailure(f"the server at {self.server} sent a non-JSON answer") from None

    def get(self, path: str, params: QueryParams | None = None) -> Any:
        return self.request("GET", path, params=params)

    def stream_lines(self, path: str) -> Iterator[str]:
        try:
            with self._http.stream("GET", path, timeout=httpx.Timeout(30.0, read=300.0)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise ApiError(r.status_code, *_problem_detail_and_field(r))
                yield from r.iter_lines()
        except httpx.TransportError as exc:
            raise self._transport_failure(exc) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused"
    return text.splitlines()[0] if text else type(exc).__name__


def open_client() -> ApiClient:
    return ApiClient(load_credentials())
