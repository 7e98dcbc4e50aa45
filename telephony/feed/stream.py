"""One Server-Sent Events stream: what was missed after ``Last-Event-ID``, then live events.

Each event goes out as ``id: <id>``, ``event: <kind>`` and one ``data:`` line holding the
event as JSON (``{"id", "call_sid", "kind", "data", "created_at"}``). A comment line every
``KEEP_ALIVE_S`` keeps proxies from closing a quiet stream and is when the reader looks again
even without a wake-up. A call's stream ends after the call's end; the list's never does.
A database error ends the stream (logged once): the client reconnects with the last id it got.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from telephony.errors import StorageError
from telephony.feed.bus import Feed
from telephony.transcripts.events import LIST_KINDS, CallEvent, EventKind

logger = logging.getLogger(__name__)

KEEP_ALIVE_S = 15.0
RETRY_MS = 2000
"""How long a browser waits before reconnecting a stream that dropped."""
READ_BATCH = 200


def format_event(event: CallEvent) -> str:
    return f"id: {event.id}\nevent: {event.kind.value}\ndata: {event.model_dump_json()}\n\n"


async def event_stream(
    feed: Feed, *, call_sid: str | None, after: int, keep_alive_s: float = KEEP_ALIVE_S
) -> AsyncIterator[str]:
    """The events after id ``after``: of the call ``call_sid``, or of the call list if None."""
    kinds = None if call_sid is not None else LIST_KINDS
    with feed.watch(call_sid) as wake:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            wake.clear()
            try:
                events = await feed.log.read(
                    after=after, call_sid=call_sid, kinds=kinds, limit=READ_BATCH
                )
            except StorageError:
                logger.warning(
                    "event stream of %s ended: the database failed",
                    call_sid or "the call list",
                    exc_info=True,
                )
                return
            for event in events:
                yield format_event(event)
                after = event.id
                if call_sid is not None and event.kind is EventKind.CALL_ENDED:
                    return
            if len(events) == READ_BATCH:
                continue
            try:
                async with asyncio.timeout(keep_alive_s):
                    await wake.wait()
            except TimeoutError:
                yield ": keep-alive\n\n"
