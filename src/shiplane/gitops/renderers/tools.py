"""Running helm and kustomize for a render: hermetic environment, deadline, clear errors.

Rendered output must be a pure function of the commit, so the tools get no network:
HTTP(S) proxies point at a closed local port (remote kustomize bases and chart
downloads fail fast instead of fetching whatever is published today), and helm's
cache/config/data homes are a fresh empty directory (no repositories, no plugins).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from shiplane.gitops.process import ProcessStartError, run_process
from shiplane.gitops.redact import tail
from shiplane.gitops.renderers.context import TOOL_VARIABLES, RenderContext

_NO_NETWORK_PROXY = "http://127.0.0.1:9"  # discard port: connection refused, at once


def tool_environment(home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C",
        "LC_ALL": "C",
        "HTTP_PROXY": _NO_NETWORK_PROXY,
        "HTTPS_PROXY": _NO_NETWORK_PROXY,
        "http_proxy": _NO_NETWORK_PROXY,
        "https_proxy": _NO_NETWORK_PROXY,
        "NO_PROXY": "",
        "no_proxy": "",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
        "HELM_PLUGINS": str(home / "helm-plugins"),
        "KUSTOMIZE_PLUGIN_HOME": str(home / "kustomize-plugins"),
    }
    return env


async def run_tool(ctx: RenderContext, argv: Sequence[str], *, file: str) -> str:
    """Run a renderer binary in the repository root; its stdout, or a RenderError
    naming `file` (unless the tool's message names a better one) with its stderr."""
    binary = Path(argv[0])
    if not _is_file(binary):
        variable = TOOL_VARIABLES.get(binary.name, "its variable")
        raise ctx.fail(
            file,
            f"{binary.name} binary not found at {binary}: set {variable} to its path or put "
            f"{binary.name} on PATH (`shiplane localcluster build` builds one)",
        )
    with tempfile.TemporaryDirectory(prefix="shiplane-render-") as home:
        try:
            result = await run_process(
                argv, cwd=ctx.repo_dir, env=tool_environment(Path(home)), timeout=ctx.timeout
            )
        except ProcessStartError as exc:
            raise ctx.fail(file, str(exc)) from None
    if result.timed_out:
        raise ctx.fail(file, f"{binary.name} did not finish within {ctx.timeout:.0f}s")
    if result.returncode != 0:
        detail = clean_tool_output(ctx, result.stderr_text() or result.stdout_text())
        raise ctx.fail(file, f"{binary.name} failed (exit {result.returncode}): {detail}")
    return result.stdout_text()


def _is_file(path: Path) -> bool:
    return path.is_file()


def clean_tool_output(ctx: RenderContext, text: str) -> str:
    """Trimmed tool output with the export directory removed from paths, so messages
    show repository-relative paths instead of a cache directory."""
    root = str(ctx.repo_dir)
    resolved = str(ctx.repo_dir.resolve())
    for prefix in {resolved, root}:
        text = text.replace(prefix + "/", "").replace(prefix, ".")
    return tail(text, lines=15, chars=3000)
