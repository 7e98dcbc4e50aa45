"""The model's tool calls on one connection: which to make, sending them, their responses.

Model-name differences the client depends on (google-adk 2.13 reads them this way):
- 2.5-style models end the turn (``turnComplete``) right after a ``toolCall``: the client buffers
  tool calls until then.
- 3.x Live models send no ``turnComplete`` after a ``toolCall``: the turn stays open and goes on
  once the responses arrive.

The model waits for every response, however long the tool takes. With
``Tools.cancel_on_barge_in``, caller speech while calls are pending cancels them
(``toolCallCancellation``); responses to cancelled calls are ignored.
"""

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.conversation import Exchange, result_text
from twins.gemini_live.events import FunctionResponse, ModelStyle
from twins.gemini_live.steps import CallTool, DuringToolCall

if TYPE_CHECKING:
    from twins.gemini_live.session import Session
    from twins.gemini_live.turns import TurnRequest

logger = logging.getLogger(__name__)


class ToolCalls:
    """Pending and cancelled tool calls of one session."""

    def __init__(self, session: "Session") -> None:
        self._session = session
        self._pending: dict[str, str] = {}
        self._cancelled: set[str] = set()
        self._turn_open = False
        self.result: str | None = None
        """The last response's result as text, for the reply that follows it."""

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def choose(
        self, request: "TurnRequest", exchange: Exchange | None
    ) -> tuple[Sequence[CallTool], str | None]:
        """The calls a turn makes and what it says before them (None: nothing).

        Scripted calls first; else, for a turn answering input, the exchange's tool if the
        setup declares it and no scripted reply replaces the exchange. Preambles only with
        ``Tools.speak_preambles``.
        """
        session = self._session
        tools = session.shared.config.tools
        default_preamble = tools.preamble if tools.speak_preambles else None
        if request.calls:
            return request.calls, default_preamble if request.answering else None
        step = exchange.tool if exchange is not None else None
        setup = session.setup
        if (
            step is None
            or not request.answering
            or request.opening
            or setup is None
            or step.name not in setup.tool_names
            or session.shared.script.has_reply()
        ):
            return (), None
        preamble = (step.preamble or default_preamble) if tools.speak_preambles else None
        return [CallTool(step.name, step.args)], preamble

    async def call(self, calls: Sequence[CallTool]) -> None:
        """Send one ``toolCall`` with ``calls``; the model then waits for the responses."""
        session = self._session
        function_calls = [
            messages.FunctionCall(
                call.call_id or f"call-{uuid.uuid4().hex[:12]}", call.name, call.args
            )
            for call in calls
        ]
        self._pending.update((call.id, call.name) for call in function_calls)
        session.conn.tool_calls.extend(call.name for call in function_calls)
        logger.info("live connection %d: calling %d tool(s)", session.index, len(calls))
        await session.send(messages.tool_call(function_calls))
        if session.setup is not None and session.setup.style is ModelStyle.LIVE_25:
            await session.send(messages.turn_complete())
        else:
            self._turn_open = True
        session.shared.record.changed()
        await session.perform(session.shared.script.take(DuringToolCall(), session.index))

    async def cancel(self) -> bool:
        """Cancel every pending call; True if the turn that made them was still open."""
        ids = list(self._pending)
        self._pending.clear()
        self._cancelled.update(ids)
        session = self._session
        session.conn.tool_cancellations.extend(ids)
        logger.info("live connection %d: cancelling %d tool call(s)", session.index, len(ids))
        await session.send(messages.tool_call_cancellation(ids))
        session.shared.record.changed()
        was_open, self._turn_open = self._turn_open, False
        return was_open

    def answered(self, responses: Sequence[FunctionResponse]) -> bool:
        """Take responses in; True once nothing is pending and a response counted.

        A response to no pending call (one made before a resumption, say) counts too; one to a
        cancelled call does not.
        """
        counted = [r for r in responses if r.id is None or r.id not in self._cancelled]
        if not counted:
            logger.info("live connection %d: response to a cancelled call", self._session.index)
            return False
        if any(r.id is None for r in counted):
            self._pending.clear()
        for response in counted:
            if response.id is not None:
                self._pending.pop(response.id, None)
        self.result = result_text(counted[-1].response)
        if self._pending:
            return False
        self._turn_open = False
        return True
