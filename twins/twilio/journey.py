"""What the caller went through after the agent: one typed entry per thing Twilio did.

Each entry has ``t``, seconds from the start of the call on the call's clock (the timeline's
origin), and ``duration_s``, how long it took on the line. ``describe()`` reads like a call log:

    12.40 s  said 'Sorry, we could not continue this call right...' 7.6 s
    20.00 s  dialled +12025550188: completed, answered after 3.0 s, talked 10.0 s
    33.01 s  hung up (end-of-twiml)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HangupBy = Literal["twiml", "end-of-twiml", "caller", "rest", "time-limit", "error"]
"""Who ended the call: a ``<Hangup>``, TwiML that ran out, the caller, a REST update
(``Status=completed``), the simulator's limit on this phase, or a request that failed."""
RequestPurpose = Literal["connect-action", "redirect", "dial-action", "enqueue-action", "wait-url"]
DialKind = Literal["number", "sip", "client"]
QUOTE_CHARS = 48
"""Text quoted in a description is cut to this many characters."""


@dataclass(frozen=True, kw_only=True)
class _Entry:
    t: float
    """Seconds from the start of the call."""
    duration_s: float = 0.0

    def summary(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.t:7.2f} s  {self.summary()}"


@dataclass(frozen=True, kw_only=True)
class Said(_Entry):
    """``<Say>``: the text, spoken at the simulator's pace (``loop`` times)."""

    text: str
    loop: int = 1

    def summary(self) -> str:
        return f"said {_quote(self.text)} {self.duration_s:.1f} s"


@dataclass(frozen=True, kw_only=True)
class Played(_Entry):
    """``<Play>`` (or hold music): audio the simulator does not fetch, of an assumed length."""

    url: str
    loop: int = 1

    def summary(self) -> str:
        return f"played {self.url} {self.duration_s:.1f} s"


@dataclass(frozen=True, kw_only=True)
class Paused(_Entry):
    """``<Pause length>``: silence on the line."""

    def summary(self) -> str:
        return f"paused {self.duration_s:.1f} s"


@dataclass(frozen=True, kw_only=True)
class Requested(_Entry):
    """A signed request for more TwiML (``action``, ``<Redirect>``, ``waitUrl``).

    ``status`` is the HTTP status, None when no answer came or the URL was not the application's.
    """

    url: str
    purpose: RequestPurpose
    status: int | None
    error: str | None = None

    def summary(self) -> str:
        answer = self.status if self.status is not None else (self.error or "no answer")
        return f"requested {self.purpose} {self.url}: {answer}"


@dataclass(frozen=True, kw_only=True)
class Dialled(_Entry):
    """``<Dial>`` to numbers, SIP URIs or clients (simultaneously when there are several).

    ``status`` is the ``DialCallStatus`` Twilio reports; ``answered_by`` the target that picked up.
    """

    kind: DialKind
    targets: tuple[str, ...]
    status: str
    dial_call_sid: str | None = None
    answered_by: str | None = None
    answered_after_s: float | None = None
    talked_s: float = 0.0
    caller_id: str | None = None
    timeout_s: float = 30.0
    answer_on_bridge: bool = False

    def summary(self) -> str:
        text = f"dialled {', '.join(self.targets)}: {self.status}"
        if self.answered_after_s is not None:
            text += f", answered after {self.answered_after_s:.1f} s, talked {self.talked_s:.1f} s"
        return text


@dataclass(frozen=True, kw_only=True)
class Conferenced(_Entry):
    """``<Dial><Conference>``: the caller was in conference ``name`` for ``duration_s``.

    ``waited_s`` is the time before the conference started (on hold music); ``ended`` says how
    the caller left it: ``conference-ended``, ``removed``, ``hung-up`` or ``interrupted`` (new
    TwiML from a REST update).
    """

    name: str
    conference_sid: str
    waited_s: float
    ended: str
    wait_url_requests: int = 0
    """How many times the ``waitUrl`` (hold music) was requested while the caller waited."""

    def summary(self) -> str:
        return (
            f"in conference {_quote(self.name)} {self.duration_s:.1f} s "
            f"(waited {self.waited_s:.1f} s): {self.ended}"
        )


@dataclass(frozen=True, kw_only=True)
class Enqueued(_Entry):
    """``<Enqueue>``: the caller waited ``waited_s`` in ``queue``; ``result`` is the
    ``QueueResult`` (bridged, hangup, leave, redirected, ...)."""

    queue: str
    queue_sid: str
    result: str
    waited_s: float
    talked_s: float = 0.0
    wait_url_requests: int = 0

    def summary(self) -> str:
        text = f"enqueued in {_quote(self.queue)} {self.waited_s:.1f} s: {self.result}"
        if self.result == "bridged":
            text += f", talked {self.talked_s:.1f} s"
        return text


@dataclass(frozen=True, kw_only=True)
class Redirected(_Entry):
    """New TwiML took over: a ``<Redirect>`` or a REST update (``Twiml=``/``Url=``)."""

    by: Literal["twiml", "rest"]
    url: str | None = None

    def summary(self) -> str:
        return f"redirected by {self.by}" + (f" to {self.url}" if self.url else "")


@dataclass(frozen=True, kw_only=True)
class Skipped(_Entry):
    """A verb the simulator does not run (``<Gather>`` without input, ``<Record>``, ...)."""

    verb: str
    reason: str

    def summary(self) -> str:
        return f"skipped <{self.verb}>: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class HungUp(_Entry):
    """The call ended."""

    by: HangupBy

    def summary(self) -> str:
        return f"hung up ({self.by})"


Entry = (
    Said | Played | Paused | Requested | Dialled | Conferenced | Enqueued | Redirected | Skipped
) | HungUp


def describe(entries: tuple[Entry, ...] | list[Entry]) -> list[str]:
    """One line per entry, as in the module docstring."""
    return [entry.describe() for entry in entries]


def _quote(text: str) -> str:
    short = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."
    return repr(short)
