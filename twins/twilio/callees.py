"""Who is at the other end when Twilio dials out of a simulated call: the callee scripts.

A call's :class:`Callees` decide what happens to every ``<Dial>`` its TwiML makes, to the queues
it joins with ``<Enqueue>`` and to the conferences it enters, and to the people the REST API dials
into a conference. Each is keyed by what the TwiML names: a number as written (``+12025550188``),
a SIP URI (``sip:alice@pbx.example.com``), ``client:alice``, a queue or conference name.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/dial, "action" and
"DialCallStatus"; https://www.twilio.com/docs/voice/twiml/enqueue;
https://www.twilio.com/docs/voice/twiml/conference):

- ``<Dial>`` ends a dialled leg that nobody picks up within its ``timeout`` (default 30 s) as
  ``no-answer``, a busy line as ``busy``, an unreachable one as ``failed``. A callee who declines
  (rejects the call on the handset) reaches Twilio as a busy signal (SIP 486/603), so ``decline``
  is reported as ``busy``, after the phone rang for a while.
- A conference starts when a participant with ``startConferenceOnEnter`` (default true) is in it
  and ends when one with ``endConferenceOnExit`` leaves, or when the last participant leaves.
- A caller in a queue waits (hearing the ``waitUrl``) until someone dequeues them, or leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

PartyOutcome = Literal["answer", "busy", "no-answer", "failed", "decline"]

DEFAULT_RING_S = 3.0
"""How long a phone rings before someone picks up: about two rings."""
DEFAULT_TALK_S = 10.0
"""How long a person talks to the caller once connected, before hanging up."""
DEFAULT_JOIN_S = 2.0
"""How long after the caller a person joins a conference."""
DEFAULT_DEQUEUE_S = 5.0
"""How long a caller waits in a queue before an agent takes the call."""


def _not_negative(name: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True)
class Party:
    """A person (or line) Twilio dials: what happens after ``after_s`` of ringing.

    ``answer``: picks up after ``after_s`` (``no-answer`` if that is longer than the ``<Dial>``
    timeout), talks for ``talk_s`` and hangs up (a person dialled with inline TwiML talks
    ``talk_s`` once in a conference room, after hearing what the TwiML says). ``no-answer``:
    rings until the timeout.
    ``busy`` / ``failed`` / ``decline``: the leg ends after ``after_s`` (``decline`` reads as busy).
    """

    outcome: PartyOutcome = "answer"
    after_s: float = DEFAULT_RING_S
    talk_s: float = DEFAULT_TALK_S
    hangs_up_after_s: float | None = None
    """A person the application dials with inline TwiML (:mod:`twins.twilio.people`) who
    answers hangs up this long after answering (during a briefing, say); None: they stay."""

    def __post_init__(self) -> None:
        _not_negative("Party.after_s", self.after_s)
        _not_negative("Party.talk_s", self.talk_s)
        _not_negative("Party.hangs_up_after_s", self.hangs_up_after_s)


@dataclass(frozen=True)
class Joiner:
    """Someone who enters a conference by themselves, ``after_s`` after it was created."""

    label: str = "agent"
    after_s: float = DEFAULT_JOIN_S
    stays_s: float = DEFAULT_TALK_S
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = True

    def __post_init__(self) -> None:
        _not_negative("Joiner.after_s", self.after_s)
        _not_negative("Joiner.stays_s", self.stays_s)


@dataclass(frozen=True)
class ConferencePlan:
    """Who joins a conference besides the callers the TwiML and the REST API put in it.

    By default one agent joins two seconds after the conference is created, talks for ten
    seconds and leaves, ending the conference. A warm transfer driven over REST (the person is
    added with ``participants.create``) wants ``ConferencePlan(joiners=())``.
    """

    joiners: tuple[Joiner, ...] = (Joiner(),)


@dataclass(frozen=True)
class QueuePlan:
    """What happens to a caller in a queue: an agent takes the call after ``answered_after_s``
    (None: nobody ever does) and talks for ``talk_s``."""

    answered_after_s: float | None = DEFAULT_DEQUEUE_S
    talk_s: float = DEFAULT_TALK_S

    def __post_init__(self) -> None:
        _not_negative("QueuePlan.answered_after_s", self.answered_after_s)
        _not_negative("QueuePlan.talk_s", self.talk_s)


@dataclass(frozen=True)
class Callees:
    """The callee scripts of one simulated call (or of the REST simulator's conferences)."""

    parties: Mapping[str, Party] = field(default_factory=dict)
    """Keyed by number as written, SIP URI, or ``client:<identity>``."""
    default_party: Party = Party()
    conferences: Mapping[str, ConferencePlan] = field(default_factory=dict)
    default_conference: ConferencePlan = ConferencePlan()
    queues: Mapping[str, QueuePlan] = field(default_factory=dict)
    default_queue: QueuePlan = QueuePlan()

    def party(self, target: str) -> Party:
        return self.parties.get(target.strip(), self.default_party)

    def conference(self, name: str) -> ConferencePlan:
        return self.conferences.get(name, self.default_conference)

    def queue(self, name: str) -> QueuePlan:
        return self.queues.get(name, self.default_queue)


DEFAULT_CALLEES = Callees()
