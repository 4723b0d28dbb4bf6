"""Schema migrations of the follow-up store, with alembic, run from code.

``vigie db migrate`` and the follow-up sink call :func:`upgrade` at start: a new version of
Vigie brings its migrations and applies them once (alembic records the revision in the
database). No ``alembic.ini``: the script folder sits next to this module and the URL comes
from the settings, so the same code migrates the local cluster and a managed server.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(libpq_url: str) -> str:
    """The SQLAlchemy form of a libpq URL, on the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix):]
    return libpq_url


def alembic_config(libpq_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolation: a literal '%' (in a password) must be doubled.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(libpq_url).replace("%", "%%"))
    return config


def upgrade(libpq_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(libpq_url), revision)


def current(libpq_url: str) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(libpq_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
