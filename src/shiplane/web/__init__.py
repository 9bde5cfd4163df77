"""The web UI (docs/ui.md): server-rendered pages (Jinja2) with htmx and the audit event
stream for live updates, served by the API's FastAPI app when `shiplane serve` runs with
the UI on. It reads the store's read models and calls the engine in-process, as the API
does, and decides no policy of its own."""

from shiplane.web.app import install_ui

__all__ = ["install_ui"]
