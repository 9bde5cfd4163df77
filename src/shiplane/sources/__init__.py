"""Artifact sources (DESIGN.md, Architecture): image, chart and git sources, selectors,
the registry client, and the webhook receivers (`sources/receivers/`)."""
