"""Shiplane engine layer (see DESIGN.md, Architecture)."""
