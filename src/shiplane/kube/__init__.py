"""Shiplane kube layer (see DESIGN.md, Architecture)."""
