"""Transcripts: every call and what was said in it, stored as it happens.

- `values`: what goes in (`CallInfo`, `TurnRecord`) and comes out (`Transcript`, `Call`, `Turn`),
  and the enums (`EndReason`, `CallStatus`, `CallDirection`, `Speaker`).
- `tables`: the SQLAlchemy models of the ``calls``, ``call_turns`` and ``call_streams`` tables.
- `engine`: `create_engine(url)`, the engine settings for SQLite and PostgreSQL.
- `store`: `TranscriptStore`, the async API the call path and the webhooks write through.
- `writes`: `writes_for(engine)`, the call path's small transactions in one trip each (SQLite:
  on a thread and connection of their own).
- `streams`: `StreamLedger`, one stream per call across every process sharing the database.
- `backlog`: `Backlog`, what the call path's writers still owe a database that is away.
- `instances`: `InstanceLease`, which instance carries which call; calls a crash left open.
- `registry`: `live_calls`, the calls in progress on every live instance.
- `sqlite_file`: `SqliteFile`, whether the SQLite file in use was deleted under the server.
- `keeper`: `StorageKeeper`, the server's standing duties towards the database.
- `catalog`: `CallCatalog`, listing, searching and erasing stored calls.
- `redaction`, `privacy`: what is stored of personal data (`Privacy`), applied by the store.
- `schema` and `migrations/`: the schema's revisions (Alembic).
"""

from telephony.transcripts.catalog import CallCatalog, CallFilter, CallPage
from telephony.transcripts.engine import create_engine
from telephony.transcripts.store import TranscriptStore
from telephony.transcripts.streams import StreamLedger
from telephony.transcripts.values import (
    Call,
    CallDirection,
    CallInfo,
    CallStatus,
    CallSummary,
    EndReason,
    Speaker,
    Transcript,
    Turn,
    TurnRecord,
)

__all__ = [
    "Call",
    "CallCatalog",
    "CallDirection",
    "CallFilter",
    "CallInfo",
    "CallPage",
    "CallStatus",
    "CallSummary",
    "EndReason",
    "Speaker",
    "StreamLedger",
    "Transcript",
    "TranscriptStore",
    "Turn",
    "TurnRecord",
    "create_engine",
]
