"""Alembic's entry point: migrate the connection ``schema.py`` passes in ``attributes``.

Only the tables of ``tables.Base.metadata`` are ours: google-adk's session tables share the
database and are left alone (autogenerate neither drops nor alters them).
"""

from typing import Any, Literal

from alembic import context
from sqlalchemy import Enum

from telephony.transcripts.tables import Base, UTCDateTime


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in Base.metadata.tables
    return True


def _render_type(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Our column types as plain SQLAlchemy ones in generated migrations, which must not
    import ``tables.py``."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Enum) and not obj.native_enum:
        return f"sa.String({obj.length})"
    return False


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
    render_item=_render_type,
)
with context.begin_transaction():
    context.run_migrations()
