"""Where a call can be sent: a number, a SIP URI, a Twilio Client, a queue or a TaskRouter
workflow, and the TwiML that sends it there (pure: no I/O).

A ``Destination`` is what a routing file names as a transfer target or a fallback; ``Onward``
is what the caller hears and where they go when the agent is not there for them (the safety
net after ``</Connect>``, after hours, overflow).
"""

import enum
from dataclasses import dataclass

from twilio.twiml.voice_response import Dial, Enqueue, VoiceResponse


class Kind(enum.StrEnum):
    """The kinds of destination, as a routing file spells them."""

    NUMBER = "number"
    SIP = "sip"
    CLIENT = "client"
    QUEUE = "queue"
    WORKFLOW = "workflow"


DEFAULT_DIAL_TIMEOUT_S = 20
"""Seconds a dialled person's phone rings before the dial counts as not answered."""


@dataclass(frozen=True, slots=True)
class Destination:
    """One place a call can go: ``address`` is the number, URI, client identity, queue name or
    workflow SID, by ``kind``."""

    kind: Kind
    address: str
    caller_id: str | None = None
    """The number the person sees (``<Dial callerId>``); None: the caller's own."""
    timeout_s: int = DEFAULT_DIAL_TIMEOUT_S

    @property
    def is_queue(self) -> bool:
        return self.kind in (Kind.QUEUE, Kind.WORKFLOW)

    def append_to(self, response: VoiceResponse, *, action_url: str | None = None) -> None:
        """Add the verb that sends the call here to ``response`` (``<Dial>`` or ``<Enqueue>``).

        ``action_url`` is requested when the verb ends (``DialCallStatus`` / ``QueueResult``).
        """
        if self.is_queue:
            options: dict[str, str] = {}
            if action_url is not None:
                options["action"] = action_url
            if self.kind is Kind.WORKFLOW:
                response.append(Enqueue(workflow_sid=self.address, **options))
            else:
                response.append(Enqueue(self.address, **options))
            return
        dial_options: dict[str, object] = {"timeout": self.timeout_s}
        if action_url is not None:
            dial_options["action"] = action_url
        if self.caller_id is not None:
            dial_options["caller_id"] = self.caller_id
        dial = Dial(**dial_options)
        if self.kind is Kind.NUMBER:
            dial.number(self.address)
        elif self.kind is Kind.SIP:
            dial.sip(self.address)
        else:
            dial.client(self.address)
        response.append(dial)


@dataclass(frozen=True, slots=True)
class Onward:
    """What a caller hears and where they go without the agent: a message, then a destination
    or a hang-up."""

    say: str | None
    destination: Destination | None = None

    def append_to(self, response: VoiceResponse) -> None:
        if self.say:
            response.say(self.say)
        if self.destination is not None:
            self.destination.append_to(response)
        response.hangup()  # after a dial or a queue that ended, or straight after the message

    def twiml(self) -> str:
        response = VoiceResponse()
        self.append_to(response)
        return str(response)
