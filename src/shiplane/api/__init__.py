"""Shiplane api layer (see DESIGN.md, Architecture)."""
