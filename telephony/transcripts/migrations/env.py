"""Alembic's entry point: migrate the connection ``schema.py`` passes in ``attributes``.

Only the tables of ``tables.Base.metadata`` are ours: google-adk's session tables share the
database and are left alone (autogenerate neither drops nor alters them).
"""

from typing import Any

from alembic import context

from telephony.transcripts.tables import Base


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in Base.metadata.tables
    return True


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m telephony db ...`, not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_name=_ours,
    render_as_batch=True,  # SQLite alters a table by copying it
    compare_type=True,
    compare_server_default=True,
)
with context.begin_transaction():
    context.run_migrations()
