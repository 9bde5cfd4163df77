"""Shiplane store layer (see DESIGN.md, Architecture)."""
