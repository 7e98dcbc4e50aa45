"""Transcripts: every call and what was said in it, stored as it happens.

- `values`: what goes in (`CallInfo`, `TurnRecord`) and comes out (`Transcript`, `Call`, `Turn`),
  and the enums (`EndReason`, `CallStatus`, `CallDirection`, `Speaker`).
- `tables`: the SQLAlchemy models of the ``calls`` and ``call_turns`` tables.
- `engine`: `create_engine(url)`, the engine settings for SQLite and PostgreSQL.
- `store`: `TranscriptStore`, the async API the call path and the webhooks write through.
"""

from telephony.transcripts.engine import create_engine
from telephony.transcripts.store import TranscriptStore
from telephony.transcripts.values import (
    Call,
    CallDirection,
    CallInfo,
    CallStatus,
    EndReason,
    Speaker,
    Transcript,
    Turn,
    TurnRecord,
)

__all__ = [
    "Call",
    "CallDirection",
    "CallInfo",
    "CallStatus",
    "EndReason",
    "Speaker",
    "Transcript",
    "TranscriptStore",
    "Turn",
    "TurnRecord",
    "create_engine",
]
