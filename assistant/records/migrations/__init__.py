"""Alembic migrations of the records database, applied on start by `assistant.records.db.upgrade`."""
