"""Outbound calls placed over Twilio's REST API, at the pace the deployment allows.

``submit`` checks what it can at once (credentials, our public URL, the queue's room) and queues
the call; the API answers with the call's id and ``queued`` status straight away. A worker
takes queued calls in order, waits for a slot (``Pacer``) and creates each call with our voice
webhook, status callbacks for every step, and asynchronous answering machine detection that
waits for the end of a voicemail greeting. Each URL carries the call's id, so a webhook that
comes before Twilio's answer to the create request still finds its call.

The calls are kept in this process's memory (their id, request, status, who answered): the
webhooks of a call must reach the process that placed it (one process, or sticky routing).
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telephony.outbound.pacing import Pacer
from telephony.outbound.requests import OutboundRequest
from telephony.twilio.rest import RestClient, RestError

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
SLOT_HOLD_S = 4 * 3600.0
"""A call whose final status never comes (a lost callback) gives its slot back after this: the
longest call Twilio allows is four hours."""
OUTBOUND_PARAMETER = "outbound"
"""The query parameter (webhooks) and stream parameter that carry an outbound call's id."""


class DialError(Exception):
    """An outbound call cannot be queued; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class OutboundCall:
    """One outbound call, from the request to its final status."""

    id: str
    request: OutboundRequest
    agent: str
    status: str = "queued"
    """``queued`` (here, waiting for a slot), then Twilio's: initiated, ringing, in-progress,
    and a final one (completed, busy, no-answer, failed, canceled)."""
    call_sid: str | None = None
    answered_by: str | None = None
    """Twilio's answering machine detection result."""
    outcome: str | None = None
    """What the agent did: greeted, voicemail_left, hung_up (fax, unknown, timeout rules)."""
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    holds_slot: bool = False
    expiry: asyncio.TimerHandle | None = None
    """Gives the slot back if the final status never comes."""

    def public(self) -> dict[str, Any]:
        """What the API shows (the numbers are the requester's own; no transcript)."""
        return {
            "id": self.id,
            "call_sid": self.call_sid,
            "status": self.status,
            "to": self.request.to,
            "from": self.request.from_,
            "agent": self.agent,
            "purpose": self.request.purpose,
            "answered_by": self.answered_by,
            "outcome": self.outcome,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
        }


class Dialer:
    """Queues outbound calls and places them at the allowed pace."""

    def __init__(
        self,
        rest: RestClient | None,
        pacer: Pacer,
        *,
        public_url: str | None,
        queue_limit: int,
        twilio_amd: bool = True,
        slot_hold_s: float = SLOT_HOLD_S,
        on_change: Callable[[OutboundCall], Awaitable[None]] | None = None,
    ) -> None:
        self._on_change = on_change
        """Told when a call is placed or its status moves on (to store it)."""
        self._rest = rest
        self._slot_hold_s = slot_hold_s
        self.twilio_amd = twilio_amd
        """Ask Twilio to detect answering machines; False: the call detects from the audio."""
        self.pacer = pacer
        self._public_url = public_url
        self._queue: asyncio.Queue[OutboundCall] = asyncio.Queue(maxsize=queue_limit)
        self._calls: dict[str, OutboundCall] = {}
        self._by_sid: dict[str, OutboundCall] = {}
        self._releasing: set[asyncio.Task[None]] = set()

    # -- the API's side -------------------------------------------------------------------------

    def submit(self, request: OutboundRequest, agent: str) -> OutboundCall:
        """Queue a call; raise ``DialError`` when it cannot be placed at all."""
        if self._rest is None:
            raise DialError(
                "outbound calls are not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
                "(or TWILIO_API_KEY and TWILIO_API_SECRET)",
                409,
            )
        if self._public_url is None:
            raise DialError(
                "outbound calls need PUBLIC_URL (Twilio's webhooks reach us there)", 409
            )
        call = OutboundCall(id="OB" + secrets.token_hex(16), request=request, agent=agent)
        try:
            self._queue.put_nowait(call)
        except asyncio.QueueFull as exc:
            raise DialError("too many outbound calls waiting; try again later", 429) from exc
        self._calls[call.id] = call
        logger.info("outbound %s: queued (agent %s)", call.id, agent)
        return call

    def find(self, call_id: str | None) -> OutboundCall | None:
        return self._calls.get(call_id) if call_id else None

    def by_sid(self, call_sid: str) -> OutboundCall | None:
        return self._by_sid.get(call_sid)

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    # -- Twilio's side --------------------------------------------------------------------------

    def bind(self, call: OutboundCall, call_sid: str) -> None:
        """The call is known to Twilio by ``call_sid`` (from the create answer or a webhook)."""
        if call.call_sid is None:
            call.call_sid = call_sid
            self._by_sid[call_sid] = call

    async def status(self, call: OutboundCall, status: str) -> None:
        """A status callback: the newest status; a final one frees the call's slot."""
        if call.status in FINAL_STATUSES:
            return
        call.status = status
        logger.info("outbound %s: %s", call.id, status)
        if status in FINAL_STATUSES:
            await self._release(call)
        await self._changed(call)

    # -- placing calls --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Place queued calls while the app runs."""
        worker = asyncio.create_task(self._work(), name="outbound dialer")
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            call = await self._queue.get()
            await self.pacer.acquire()
            call.holds_slot = True
            await self._place(call)
            if call.holds_slot:
                call.expiry = loop.call_later(self._slot_hold_s, self._expired, call)

    def _expired(self, call: OutboundCall) -> None:
        """The call's final status has not come in time: give its slot back."""
        logger.warning("outbound %s: no final status after %.0f s", call.id, self._slot_hold_s)
        task = asyncio.create_task(self._release(call))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _place(self, call: OutboundCall) -> None:
        assert self._rest is not None and self._public_url is not None  # checked by submit
        origin, query = self._public_url, f"?{OUTBOUND_PARAMETER}={call.id}"
        detection: dict[str, str] = {}
        if self.twilio_amd:
            detection = {
                "machine_detection": "DetectMessageEnd",
                "async_amd": "true",
                "async_amd_status_callback": f"{origin}/twilio/amd{query}",
                "async_amd_status_callback_method": "POST",
            }
        try:
            call_sid = await self._rest.create_call(
                to=call.request.to,
                from_=call.request.from_,
                url=f"{origin}/twilio/voice{query}",
                method="POST",
                status_callback=f"{origin}/twilio/status{query}",
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
                **detection,
            )
        except RestError as exc:
            logger.warning("outbound %s: Twilio refused the call (code %s)", call.id, exc.code)
            call.error = str(exc)
            call.status = "failed"
            await self._release(call)
            await self._changed(call)
            return
        except Exception:  # the worker must outlive one call (a network error)
            logger.exception("outbound %s: could not reach Twilio to place the call", call.id)
            call.error = "could not reach Twilio"
            call.status = "failed"
            await self._release(call)
            await self._changed(call)
            return
        self.bind(call, call_sid)
        if call.status == "queued":
            call.status = "initiated"
        logger.info("outbound %s: placed as call %s", call.id, call_sid)
        await self._changed(call)

    async def _changed(self, call: OutboundCall) -> None:
        if self._on_change is not None:
            await self._on_change(call)

    async def _release(self, call: OutboundCall) -> None:
        if call.expiry is not None:
            call.expiry.cancel()
            call.expiry = None
        if call.holds_slot:
            call.holds_slot = False
            await self.pacer.release()
