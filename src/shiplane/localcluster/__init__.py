"""Shiplane localcluster layer (see DESIGN.md, Architecture)."""
