"""The start of a session: the ``setup`` message, checked and answered with ``setupComplete``.

Refusals close the connection instead, as the real service does (codes and reasons in
``closes``): a first message that is not a setup (1007), an expired or unknown resumption handle
(1007), every setup when ``Failures.refuse_setup`` says so (quota, unavailable: 1011), and a
setup beyond ``Failures.max_sessions`` concurrent sessions (1011 RESOURCE_EXHAUSTED).
``setupComplete`` waits ``Failures.setup_delay_s`` plus any delay the script queued.
"""

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from twins.gemini_live import messages
from twins.gemini_live.closes import BAD_HANDLE, INVALID_ARGUMENT, TOO_MANY_SESSIONS, Refusal
from twins.gemini_live.events import Setup
from twins.gemini_live.steps import OnSetup
from twins.gemini_live.wire import WireError, parse_client_message

if TYPE_CHECKING:
    from twins.gemini_live.session import Session

logger = logging.getLogger(__name__)


async def handshake(session: "Session") -> bool:
    """Receive and check the setup; True once ``setupComplete`` was sent."""
    try:
        raw = await session.ws.recv()
    except ConnectionClosed:
        return False
    try:
        events = parse_client_message(raw)
    except WireError as exc:
        await session.close(INVALID_ARGUMENT, str(exc))
        return False
    setup = events[0] if events else None
    if not isinstance(setup, Setup):
        await session.close(INVALID_ARGUMENT, "The first message must be a setup message.")
        return False
    session.conn.setup = setup
    session.shared.record.changed()
    refusal = _refusal(session, setup)
    if refusal is not None:
        session.conn.refused = True
        await session.close(refusal.code, refusal.reason)
        return False
    session.setup = setup
    session.shared.active.add(session.index)
    logger.info(
        "live connection %d: setup model=%s resumed=%s",
        session.index,
        setup.model,
        session.conn.resumed_handle is not None,
    )
    script = session.shared.script
    if await session.perform(script.take(OnSetup(), session.index)):
        return False
    delay = session.shared.config.failures.setup_delay_s + script.take_setup_delay()
    if delay > 0:
        await asyncio.sleep(delay)
    await session.send(messages.setup_complete(uuid.uuid4().hex))
    return not session.closing


def _refusal(session: "Session", setup: Setup) -> Refusal | None:
    """Why ``setup`` is refused, if it is; a resumed session takes over its memory."""
    failures = session.shared.config.failures
    if failures.refuse_setup is not None:
        return failures.refuse_setup
    limit = failures.max_sessions
    if limit is not None and len(session.shared.active) >= limit:
        logger.info("live connection %d: refused, %d sessions open", session.index, limit)
        return TOO_MANY_SESSIONS
    if setup.resumption_handle is not None:
        memory = session.shared.handles.resume(setup.resumption_handle)
        if memory is None:
            return BAD_HANDLE
        session.memory = memory
        session.conn.resumed_handle = setup.resumption_handle
    return None
