"""Shiplane domain layer (see DESIGN.md, Architecture)."""
