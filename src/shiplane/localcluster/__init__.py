"""Real local control planes for development and tests (see DESIGN.md, Architecture).

A tool layer: only the CLI, tests and benchmarks import it (an import-linter contract).
No face: import its modules (`cluster`, `build`, `paths`).
"""
