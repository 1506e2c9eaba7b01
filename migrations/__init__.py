"""Alembic migration scripts, shipped in the wheel beside `app` (see app/migrate.py)."""
