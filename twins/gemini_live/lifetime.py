"""Timers of one connection: its limited lifetime, and scheduled internal errors.

"The lifetime of a connection is limited to around 10 minutes ... You'll also receive a GoAway
message before the connection ends" (Vertex AI Live API docs): the ``goAway`` comes whatever the
conversation is doing (mid-reply, during a tool call, while the caller speaks), then the
connection closes with 1011 "Deadline expired before operation could complete."
(``closes.DEADLINE_REASON``; both seen together in kizuna-ai-lab/sokuji issue 179).
"""

import asyncio
from typing import TYPE_CHECKING

from twins.gemini_live.closes import INTERNAL_ERROR, INTERNAL_REASON
from twins.gemini_live.steps import GoAway

if TYPE_CHECKING:
    from twins.gemini_live.session import Session


async def lifetime(session: "Session") -> None:
    """Send ``goAway`` ``go_away_time_left_s`` before the connection's end, then close it."""
    options = session.shared.config.lifetime
    if options.connection_s is None:
        return
    time_left = min(options.go_away_time_left_s, options.connection_s)
    await asyncio.sleep(options.connection_s - time_left)
    if not session.closing:
        await session.perform([GoAway(time_left_s=time_left)])


async def internal_error(session: "Session") -> None:
    """Close with 1011 ``Failures.internal_error_after_s`` after setup, if that is set."""
    after = session.shared.config.failures.internal_error_after_s
    if after is None:
        return
    await asyncio.sleep(after)
    await session.close(INTERNAL_ERROR, INTERNAL_REASON)
