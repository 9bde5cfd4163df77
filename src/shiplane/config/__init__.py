"""Shiplane config layer (see DESIGN.md, Architecture)."""
