"""Alembic migrations of the Shiplane store (run by Database.migrate())."""
