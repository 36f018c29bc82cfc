"""The customs service's database: its own tables and migrations (``schema``), on the service's
engine (SQLite or PostgreSQL, the same ``Database`` wrapper as the chamber service)."""

from __future__ import annotations

from ...service.store.engine import Database, insert_id
from .schema import migrate

__all__ = ["CustomsDatabase", "insert_id"]


class CustomsDatabase(Database):
    """The customs database: ``transaction()`` as the service's, and ``migrate()`` to the newest schema."""

    def migrate(self) -> int:
        with self.transaction() as conn:
            return migrate(conn)
