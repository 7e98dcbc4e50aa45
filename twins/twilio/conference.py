"""Conference rooms: who is in them, when they start and when they end.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/conference,
https://www.twilio.com/docs/voice/api/conference-resource and .../conference-participant-resource):

- A conference is created (``init``) by its first participant and is ``in-progress`` once a
  participant with ``startConferenceOnEnter`` (default true) is in it; until then the others
  wait, hearing the ``waitUrl``.
- It ends (``completed``) when a participant with ``endConferenceOnExit`` leaves or is removed,
  when the last participant leaves or is removed, or over REST (``Status=completed``); the
  ``reason_conference_ended`` says which, ``call_sid_ending_conference`` who.
- A participant's status: queued, connecting, ringing, connected, complete, failed. A
  participant who left is no longer a resource (fetching it answers 20404).
- Removing a participant that joined with ``<Dial><Conference>`` ends that ``<Dial>``: its call
  goes on with the next TwiML. One put on ``hold`` hears the ``holdUrl`` music.
- ``statusCallback`` (https://www.twilio.com/docs/voice/twiml/conference#attributes-
  statusCallback), set by the participant that creates the room, receives the events named in
  ``statusCallbackEvent`` (``start end join leave ...``; without it the simulator assumes
  ``start end``, *unverified*) as ``conference-start``, ``conference-end``,
  ``participant-join``, ``participant-leave``, with
  ``ConferenceSid``, ``FriendlyName``, ``SequenceNumber``, ``Timestamp`` and, for participant
  events, the participant's ``CallSid``, ``Muted``, ``Hold``, ``StartConferenceOnEnter``,
  ``EndConferenceOnExit`` (and on leave ``ReasonParticipantLeft``); ``conference-end`` adds
  ``ReasonConferenceEnded`` and ``CallSidEndingConference``. Sending is the subscriber's
  (:mod:`twins.twilio.dial`): a room only says what happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

logger = logging.getLogger(__name__)

ConferenceStatus = Literal["init", "in-progress", "completed"]
ParticipantStatus = Literal["queued", "connecting", "ringing", "connected", "complete", "failed"]
LeftBecause = Literal["hung-up", "removed", "conference-ended", "interrupted", "no-answer"]
STATUS_EVENTS = {
    "start": "conference-start",
    "end": "conference-end",
    "join": "participant-join",
    "leave": "participant-leave",
}
"""``statusCallbackEvent`` words and the ``StatusCallbackEvent`` each sends (the others, such
as ``mute`` or ``speaker``, are not simulated)."""
DEFAULT_STATUS_EVENTS = ("start", "end")
_LEFT_REASONS: dict[LeftBecause, str] = {
    "hung-up": "participant_hung_up",
    "removed": "participant_removed",
    "conference-ended": "conference_ended",
    "interrupted": "participant_updated_via_api",
    "no-answer": "participant_not_answered",
}
Notify = Callable[[dict[str, str]], None]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Participant:
    call_sid: str
    label: str | None = None
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    muted: bool = False
    hold: bool = False
    status: ParticipantStatus = "connected"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    left: asyncio.Event = field(default_factory=asyncio.Event)
    left_because: LeftBecause | None = None
    hold_changes: list[tuple[datetime, bool]] = field(default_factory=list)
    """Every hold update: when, and whether the participant went on hold or came back."""

    def set_hold(self, hold: bool) -> None:
        if hold != self.hold:
            self.hold_changes.append((_now(), hold))
        self.hold = hold
        self.updated_at = _now()


@dataclass
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    status: ConferenceStatus = "init"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    participants: dict[str, Participant] = field(default_factory=dict)
    """Everyone ever added, by CallSid; those still present have status ``connected`` (or are
    still being dialled)."""
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    notify: Notify | None = None
    """Where the room's status events go (see the module docstring); None: nowhere."""
    status_events: frozenset[str] = frozenset()
    _sequence: int = 0

    def subscribe(self, words: list[str], notify: Notify) -> None:
        """Send the events named by ``words`` (``statusCallbackEvent``) to ``notify``."""
        self.status_events = frozenset(STATUS_EVENTS[w] for w in words if w in STATUS_EVENTS)
        self.notify = notify

    @property
    def present(self) -> list[Participant]:
        """Participants in the room now (connected)."""
        return [p for p in self.participants.values() if p.status == "connected"]

    @property
    def current(self) -> list[Participant]:
        """Participants that are resources now: in the room or still being dialled."""
        return [p for p in self.participants.values() if p.status not in ("complete", "failed")]

    def find(self, key: str) -> Participant | None:
        """A current participant by CallSid or label."""
        for participant in self.current:
            if key in (participant.call_sid, participant.label):
                return participant
        return None

    def add(self, participant: Participant) -> None:
        """Register a participant being dialled (not in the room yet)."""
        self.participants[participant.call_sid] = participant

    def join(self, participant: Participant) -> None:
        """``participant`` enters the room (the conference starts if they start it)."""
        if self.status == "completed":
            raise RuntimeError(f"conference {self.sid} has ended")
        participant.status = "connected"
        participant.updated_at = _now()
        self.participants[participant.call_sid] = participant
        self._emit("participant-join", participant)
        if participant.start_conference_on_enter and self.status == "init":
            self.status = "in-progress"
            self.updated_at = _now()
            self.started.set()
            logger.info("conference %s started", self.sid)
            self._emit("conference-start")

    def leave(self, call_sid: str, because: LeftBecause) -> None:
        """A participant leaves (or is removed, or stopped ringing); the room may end with it."""
        participant = self.participants.get(call_sid)
        if participant is None or participant.status in ("complete", "failed"):
            return
        was_present = participant.status == "connected"
        participant.status = "complete" if was_present else "failed"
        participant.left_because = because
        participant.updated_at = _now()
        participant.left.set()
        if was_present:
            self._emit(
                "participant-leave", participant, ReasonParticipantLeft=_LEFT_REASONS[because]
            )
        if not was_present or self.status == "completed":
            return
        kicked = because == "removed"
        if participant.end_conference_on_exit and self.status == "in-progress":
            reason = "participant-with-end-conference-on-exit-" + ("kicked" if kicked else "left")
            self.end(reason, call_sid)
        elif not self.present:
            self.end("last-participant-kicked" if kicked else "last-participant-left", call_sid)

    def end(self, reason: str, call_sid: str | None = None) -> None:
        """The conference is over: everyone still in it leaves."""
        if self.status == "completed":
            return
        self.status = "completed"
        self.reason_ended, self.call_sid_ending = reason, call_sid
        self.updated_at = _now()
        for participant in self.current:
            was_present = participant.status == "connected"
            participant.status = "complete"
            participant.left_because = "conference-ended"
            participant.left.set()
            if was_present:
                self._emit(
                    "participant-leave", participant, ReasonParticipantLeft="conference_ended"
                )
        self.ended.set()
        logger.info("conference %s ended: %s", self.sid, reason)
        extra = {"ReasonConferenceEnded": reason, "CallSidEndingConference": call_sid or ""}
        self._emit("conference-end", None, **extra)

    def _emit(self, event: str, participant: Participant | None = None, **extra: str) -> None:
        if self.notify is None or event not in self.status_events:
            return
        params = {
            "AccountSid": self.account_sid,
            "ConferenceSid": self.sid,
            "FriendlyName": self.friendly_name,
            "StatusCallbackEvent": event,
            "SequenceNumber": str(self._sequence),
            "Timestamp": _now().strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        self._sequence += 1
        if participant is not None:
            params |= {
                "CallSid": participant.call_sid,
                "Muted": _flag(participant.muted),
                "Hold": _flag(participant.hold),
                "Coaching": "false",
                "StartConferenceOnEnter": _flag(participant.start_conference_on_enter),
                "EndConferenceOnExit": _flag(participant.end_conference_on_exit),
            }
        self.notify(params | extra)


def _flag(value: bool) -> str:
    return "true" if value else "false"
