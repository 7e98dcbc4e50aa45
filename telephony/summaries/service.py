"""`Summaries`: when a call ends, summarise it with a text model, store it, deliver it.

All of it runs in a task of its own, started when the call has ended (`call_ended`), so the
call path never waits on a model or a webhook, and a dead receiver costs calls nothing. The
task waits until the call's end is in the database (its transcript is then complete, since the
call's writer writes its end last), asks the model (``client.aio.models.generate_content``,
retried a few times), stores the summary, then delivers it to the webhook, recording each
attempt on the stored summary, so a failed delivery shows on the call and in ``/metrics``.

When the server stops, the tasks get a short, bounded wait, then are cancelled: a delivery cut
short stays ``pending`` on the call (it is not resumed by the next start).
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from google import genai
from google.genai import errors, types

from telephony.background import finish
from telephony.errors import StorageError
from telephony.summaries.plans import SummaryPlans
from telephony.summaries.prompt import CallSummary, SummaryError, build_prompt, parse_answer
from telephony.summaries.webhook import Attempt, WebhookSender
from telephony.transcripts import Transcript, TranscriptStore
from telephony.transcripts.summaries import DeliveryStatus, StoredSummary, SummaryStore

logger = logging.getLogger(__name__)

WAIT_FOR_END_S = 15 * 60.0
"""How long a summary waits for its call's end to reach the database (an outage)."""
MODEL_ATTEMPTS = 3
MODEL_RETRY_S = 2.0
DRAIN_S = 5.0
AT_ONCE = 4
"""Model requests for summaries at the same time; the others wait their turn. Summaries
share the event loop with the live calls: when many calls end together, a model request, its
TLS and its parsing for each at once would hold up the calls' audio."""


def _transport_errors() -> tuple[type[Exception], ...]:
    """What a request to the model raises when the network fails: google-genai sends it with
    aiohttp when that is installed, else with httpx (a dropped connection is neither an
    ``APIError`` nor an ``OSError``)."""
    found: list[type[Exception]] = [httpx.HTTPError]
    with contextlib.suppress(ImportError):
        import aiohttp

        found.append(aiohttp.ClientError)
    return tuple(found)


_MODEL_ERRORS: tuple[type[Exception], ...] = (
    errors.APIError,
    OSError,
    TimeoutError,
    SummaryError,
    *_transport_errors(),
)


@dataclass(slots=True)
class SummaryCounters:
    """For ``/metrics``: what this process summarised and delivered."""

    made: int = 0
    failed: int = 0
    """Calls the model could not summarise."""
    delivered: int = 0
    attempts_failed: int = 0
    """Delivery attempts that failed (each retry counts)."""
    gave_up: int = 0
    """Summaries never delivered: every attempt failed."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Summaries:
    """Post-call summaries of one server process."""

    def __init__(
        self,
        transcripts: TranscriptStore,
        client: genai.Client,
        *,
        model: str,
        plans: SummaryPlans,
    ) -> None:
        self._transcripts = transcripts
        self.store = SummaryStore(transcripts.engine)
        self._client = client
        self.model = model
        self._plans = plans
        """Each route's fields schema and webhook (the call's route is stored with it)."""
        self.counters = SummaryCounters()
        self.on_delivery: Callable[[str], None] = lambda _outcome: None
        """Hears each webhook attempt's outcome: ``delivered``, ``retried`` or ``failed``."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns = asyncio.Semaphore(AT_ONCE)

    def call_ended(self, call_sid: str) -> None:
        """Summarise and deliver the call, in the background."""
        task = asyncio.create_task(self._logged(call_sid), name=f"summary of call {call_sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """On exit, wait up to ``DRAIN_S`` for summaries under way, then cancel them."""
        try:
            yield
        finally:
            left = await finish(set(self._tasks), DRAIN_S)
            if left:
                logger.warning("stopped with %d call summaries not finished", left)

    async def _logged(self, call_sid: str) -> None:
        try:
            await self._summarise(call_sid)
        except StorageError:
            logger.exception("call %s: its summary could not be stored", call_sid)
        except Exception:
            logger.exception("call %s: summarising failed", call_sid)

    async def _summarise(self, call_sid: str) -> None:
        transcript = await self._ended_transcript(call_sid)
        if transcript is None:
            logger.error("call %s: no summary: its end never reached the database", call_sid)
            return
        delivery_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        plan = self._plans.for_route(transcript.call.route)
        try:
            made = await self._ask(transcript, plan.fields_schema)
        except _MODEL_ERRORS as exc:
            self.counters.failed += 1
            logger.warning("call %s: the model could not summarise it", call_sid, exc_info=True)
            await self.store.save(
                StoredSummary(
                    call_sid=call_sid,
                    model=self.model,
                    summary="",
                    outcome="unknown",
                    follow_ups=[],
                    fields={},
                    created_at=now,
                    delivery_id=delivery_id,
                    delivery_status=DeliveryStatus.NO_SUMMARY,
                    delivery_attempts=0,
                    delivered_at=None,
                    delivery_error=f"summary failed ({type(exc).__name__})",
                )
            )
            return
        self.counters.made += 1
        status = DeliveryStatus.PENDING if plan.webhook else DeliveryStatus.NOT_CONFIGURED
        stored = StoredSummary(
            call_sid=call_sid,
            model=self.model,
            summary=made.summary,
            outcome=made.outcome.value,
            follow_ups=made.follow_ups,
            fields=made.fields,
            created_at=now,
            delivery_id=delivery_id,
            delivery_status=status,
            delivery_attempts=0,
            delivered_at=None,
            delivery_error=None,
        )
        await self.store.save(stored)
        logger.info("call %s: summarised (%s)", call_sid, made.outcome)
        if plan.webhook is not None:
            await self._deliver(plan.webhook, transcript, stored)

    async def _ended_transcript(self, call_sid: str) -> Transcript | None:
        deadline = time.monotonic() + WAIT_FOR_END_S
        delay = 0.1
        while time.monotonic() < deadline:
            try:
                found = await self._transcripts.transcript(call_sid)
            except StorageError:
                logger.debug("call %s: transcript not readable yet", call_sid, exc_info=True)
                found = None
            if found is not None and found.call.ended_at is not None:
                return found
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        return None

    async def _ask(
        self, transcript: Transcript, fields_schema: Mapping[str, Any] | None
    ) -> CallSummary:
        prompt = build_prompt(transcript, None if fields_schema is None else dict(fields_schema))
        config = types.GenerateContentConfig(response_mime_type="application/json", temperature=0.2)
        for attempt in range(1, MODEL_ATTEMPTS + 1):
            try:
                async with self._turns:
                    response = await self._client.aio.models.generate_content(
                        model=self.model, contents=prompt, config=config
                    )
                return parse_answer(response.text)
            except _MODEL_ERRORS:
                if attempt == MODEL_ATTEMPTS:
                    raise
                logger.debug("summary request failed; retrying", exc_info=True)
                await asyncio.sleep(MODEL_RETRY_S * attempt)
        raise AssertionError("unreachable")

    async def _deliver(
        self, webhook: WebhookSender, transcript: Transcript, stored: StoredSummary
    ) -> None:
        call_sid = stored.call_sid
        body = json.dumps(_webhook_body(transcript, stored), separators=(",", ":")).encode()

        async def attempted(attempt: Attempt) -> None:
            if attempt.error is None:
                self.counters.delivered += 1
                self.on_delivery("delivered")
                await self.store.delivery(
                    call_sid,
                    DeliveryStatus.DELIVERED,
                    attempts=attempt.number,
                    delivered_at=datetime.now(UTC),
                )
                return
            self.counters.attempts_failed += 1
            last = attempt.number >= webhook.policy.max_attempts
            logger.warning(
                "call %s: summary delivery %d failed: %s%s",
                call_sid,
                attempt.number,
                attempt.error,
                "; giving up" if last else "; will retry",
            )
            self.on_delivery("failed" if last else "retried")
            if last:
                self.counters.gave_up += 1
            status = DeliveryStatus.FAILED if last else DeliveryStatus.PENDING
            await self.store.delivery(
                call_sid, status, attempts=attempt.number, error=attempt.error
            )

        await webhook.deliver(body, stored.delivery_id, attempted)


def _webhook_body(transcript: Transcript, stored: StoredSummary) -> dict[str, Any]:
    call = transcript.call
    return {
        "event": "call.summary",
        "delivery_id": stored.delivery_id,
        "call": {
            "call_sid": call.call_sid,
            "agent": call.agent,
            "direction": call.direction,
            "from_number": call.from_number,
            "to_number": call.to_number,
            "started_at": call.started_at.isoformat() if call.started_at else None,
            "ended_at": call.ended_at.isoformat() if call.ended_at else None,
            "end_reason": call.end_reason,
        },
        "summary": {
            "summary": stored.summary,
            "outcome": stored.outcome,
            "follow_ups": stored.follow_ups,
            "fields": stored.fields,
            "model": stored.model,
            "created_at": stored.created_at.isoformat(),
        },
    }
