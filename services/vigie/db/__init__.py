"""The follow-up store's database: the local PostgreSQL and the schema migrations."""

from __future__ import annotations

from vigie.settings import Settings


def database_url(settings: Settings) -> str:
    """``VIGIE_DATABASE_URL`` (a managed server), or the local cluster's (``vigie db start``):
    the one place every follow-up command asks where the store is."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from vigie.db.local import LocalPostgres

    return LocalPostgres(settings).url()
