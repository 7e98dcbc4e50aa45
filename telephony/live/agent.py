"""One call's agent on the Live API: ADK's ``run_live``, fed and read over the call's link.

ADK resumes a dropped or ended connection by itself when it holds a resumption handle. When it
cannot (a drop before the first handle, a handle the service refuses, a connection that fails
for good), ``run_live`` raises. The call does not end there: a fresh live session is started
once, seeded with the conversation so far (what was said, as the transcript has it), so the
agent picks up where it was; only if that fails too does the model count as failed.

Every message of the model reaches ``on_message`` as one ``ModelMessage``: from the link's tap
while one is attached, or translated from ADK's events otherwise (see ``link.py``).
"""

import contextlib
import logging
from collections.abc import Callable

from google.adk.agents import LiveRequestQueue, RunConfig
from google.adk.runners import Runner
from google.genai import errors as genai_errors
from google.genai import types
from websockets.exceptions import ConnectionClosed

from telephony.closecodes import CloseCode
from telephony.errors import ModelUnavailableError
from telephony.live.events import AdkEventReader
from telephony.live.internals import Internals
from telephony.live.link import EndHandler, MessageHandler, ModelLink, ReceiptHandler

logger = logging.getLogger(__name__)

FRESH_SESSIONS = 1
"""Fresh live sessions a call may start after ``run_live`` failed (each seeded)."""
GREETING_CUE = "[The phone call has just been connected. Greet the caller.]"
_REFUSED = (CloseCode.POLICY_VIOLATION,)
"""Close codes a fresh session would meet again (a bad key, a forbidden request)."""


class LiveAgent:
    """The live side of one call (see the module docstring)."""

    def __init__(
        self,
        runner: Runner,
        run_config: RunConfig,
        *,
        user_id: str,
        session_id: str,
        internals: Internals,
        direct_line: bool,
        on_message: MessageHandler,
        on_receipt: ReceiptHandler,
        on_ended: EndHandler,
    ) -> None:
        self._runner = runner
        self._run_config = run_config
        self._user_id = user_id
        self._session_id = session_id
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._queue = LiveRequestQueue()
        self._closed = False
        self.link = ModelLink(
            self._queue,
            on_message,
            on_receipt=on_receipt,
            on_ended=on_ended,
            internals=internals,
            enabled=direct_line,
            label=session_id,
        )
        self.fresh_sessions = 0
        self.send_audio = self.link.send_audio
        """Send 16 kHz PCM16 caller audio (the link's own method: no extra step per frame)."""

    def say(self, text: str) -> None:
        """A text turn for the model (a cue, a keypad note): it answers it."""
        self._queue.send_content(types.Content(role="user", parts=[types.Part(text=text)]))

    def close(self) -> None:
        """End the live session (``run`` then returns)."""
        self._closed = True
        self._queue.close()

    async def run(self, seed: Callable[[], str | None]) -> None:
        """Run the agent until ``close``; raise ``ModelUnavailableError`` when the model fails.

        ``seed`` gives the cue that opens a fresh session after a failure: the conversation so
        far (None when nothing was said yet: the fresh session is then greeted like the first).
        """
        while True:
            try:
                await self._run_once()
                return
            except ModelUnavailableError as exc:
                if self._closed or not exc.retryable or self.fresh_sessions >= FRESH_SESSIONS:
                    raise
                logger.warning(
                    "call %s: live session failed (%s); starting a fresh one with the "
                    "conversation so far",
                    self._session_id,
                    exc,
                )
                self.fresh_sessions += 1
                self._queue = LiveRequestQueue()  # one per run_live, never reused
                self.link.use_queue(self._queue)
                self.say(seed() or GREETING_CUE)

    async def _run_once(self) -> None:
        events = self._runner.run_live(
            user_id=self._user_id,
            session_id=self._session_id,
            live_request_queue=self._queue,
            run_config=self._run_config,
        )
        reader = AdkEventReader()
        try:
            with self.link.bound():  # ADK's connections inherit it: see link.py
                async with contextlib.aclosing(events):
                    async for event in events:
                        self._on_receipt()
                        if self.link.tapped:
                            continue  # the tap has handed this message over already
                        if (message := reader.read(event)) is not None:
                            await self._on_message(message)
        except genai_errors.APIError as exc:
            raise ModelUnavailableError(
                f"live session closed with code {exc.code}",
                retryable=exc.code not in _REFUSED,
            ) from exc
        except ConnectionClosed as exc:  # a drop ADK did not resume
            raise ModelUnavailableError(f"live connection lost: {exc}", retryable=True) from exc
        if not self._closed:
            raise ModelUnavailableError("the model ended the live session", retryable=False)


def conversation_cue(lines: list[tuple[str, str]]) -> str | None:
    """The cue that opens a fresh session mid-call: the conversation so far, and what to do."""
    if not lines:
        return None
    said = "\n".join(f"{who}: {text}" for who, text in lines)
    return (
        "[The line to you dropped for a moment during this phone call and is back; the caller "
        "is still on the line. The conversation so far:\n"
        f"{said}\n"
        "Do not greet the caller again. Say briefly that you are back, then carry on.]"
    )
