"""Shiplane store layer (see DESIGN.md, Architecture; docs/contracts.md; docs/store.md).

No face: each repository is a module used as one (`from shiplane.store import releases`,
then `releases.create_release(s, ...)`); the database is `shiplane.store.db.Database`.
"""
