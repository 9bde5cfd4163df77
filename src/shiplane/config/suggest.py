"""Moved to `shiplane.domain.suggest` so that the CLI can suggest command names without
importing the config layer; this name stays for existing imports."""

from shiplane.domain.suggest import closest, describe, did_you_mean

__all__ = ["closest", "describe", "did_you_mean"]
