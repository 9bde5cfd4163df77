"""Shiplane web layer (see DESIGN.md, Architecture)."""
