"""Local cluster fixtures (filled in by the localcluster work)."""
