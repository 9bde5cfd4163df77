"""Shiplane store layer (see DESIGN.md, Architecture; docs/contracts.md; docs/store.md)."""

from shiplane.store.db import Database, default_database_url

__all__ = ["Database", "default_database_url"]
