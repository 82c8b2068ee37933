"""Alembic's environment: the migrations run on the connection the Store hands over, or on
the URL of its configuration (render_as_batch: SQLite alters a table by copying it)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from tandem_mailbox.store.tables import metadata

config = context.config


def run() -> None:
    """Run the migrations online, on the Store's connection when it gave one."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as own:
            _migrate(own)
        return
    _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
