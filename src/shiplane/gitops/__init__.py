"""Shiplane gitops layer (see DESIGN.md, Architecture)."""
