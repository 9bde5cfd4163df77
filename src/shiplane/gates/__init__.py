"""Shiplane gates layer (see DESIGN.md, Architecture)."""
