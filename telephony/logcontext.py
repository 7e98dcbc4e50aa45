"""Which call a log line is about, and log lines as JSON for a log pipeline.

The call's SID is set once where a call's work begins (the webhook, the media stream) in a
context variable, which every task started from there inherits: each record logged for the
call, ours or a library's, carries ``call_sid`` without every message having to say it.

``JsonFormatter`` writes a fixed set of fields: time, level, logger, message, call SID, trace
and span ids, and the traceback. Never a record's other attributes: a library may put a
request body or statement parameters there (personal data).
"""

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_call_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_sid", default=None)


@contextlib.contextmanager
def about_call(call_sid: str) -> Iterator[None]:
    """Log records made in the block (and in tasks started in it) are about ``call_sid``."""
    token = _call_sid.set(call_sid)
    try:
        yield
    finally:
        _call_sid.reset(token)


class CallContext(logging.Filter):
    """Adds ``call_sid`` (or None) to every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_sid = _call_sid.get()
        return True


_CALL_SID = re.compile(r"\bCA[0-9a-f]{32}\b")


def _call_of(record: logging.LogRecord) -> str | None:
    """The call a record is about: its context's, or the one its message names."""
    found: str | None = getattr(record, "call_sid", None) or _call_sid.get()
    if found is None and (named := _CALL_SID.search(record.getMessage())) is not None:
        found = named.group()
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "call_sid": _call_of(record),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
