"""Persistence: the SQLAlchemy Core schema, the async engine, migrations and repositories."""

from alertbot.storage.database import Database

__all__ = ["Database"]
