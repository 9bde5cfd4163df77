"""The `shiplane` command line: an HTTP client of the API, plus local tools."""
