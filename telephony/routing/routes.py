"""Routes: what a dialled number (and, optionally, the caller's prefix and the time of day)
means for a call. Pure values and the matching rule; ``loader.py`` reads them from a file.
"""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from telephony.routing.options import OutboundOptions, RecordingOptions, SummaryOptions
from telephony.twilio.destinations import Destination, Onward

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""A phone number as routes list them."""

DEFAULT_FALLBACK = Onward(
    say="Sorry, we could not continue this call right now. Please call again a little later. "
    "Goodbye."
)
"""What a caller hears when the agent is gone and the route names nothing better."""

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Window:
    """Open from ``start`` (inclusive) to ``end`` (exclusive), local time, on one day."""

    start: dt.time
    end: dt.time

    def holds(self, moment: dt.time) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class Hours:
    """Opening hours in a time zone: the windows of each weekday (Monday first)."""

    timezone: str
    week: tuple[tuple[Window, ...], ...]

    def open_at(self, when: dt.datetime) -> bool:
        """Whether ``when`` (an aware datetime) falls in an opening window."""
        local = when.astimezone(ZoneInfo(self.timezone))
        return any(window.holds(local.time()) for window in self.week[local.weekday()])


@dataclass(frozen=True, slots=True)
class Keypad:
    """How keypad digits are collected into one input for the agent."""

    terminator: str = "#"
    inter_digit_timeout_s: float = 3.0
    max_digits: int = 16
    mask_in_transcript: bool = True
    menu: Mapping[str, str] = field(default_factory=dict)
    """A digit pressed alone -> what it asks for (a transfer target, or words for the agent)."""


@dataclass(frozen=True, slots=True)
class SilencePolicy:
    """What the agent does when the caller says nothing, and the longest call."""

    reprompt_after_s: float | None = None
    max_reprompts: int = 2
    max_duration_s: float | None = None
    warn_before_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Route:
    """Everything a call on one route needs: who answers, how they sound, where they may send
    the caller, and what happens when they cannot take it."""

    name: str
    agent: str
    numbers: tuple[str, ...] = ()
    caller_prefix: str | None = None
    business_name: str | None = None
    voice: str | None = None
    """A prebuilt voice of the Live API (``speech_config``), e.g. ``Puck``; None: the model's."""
    language: str | None = None
    """BCP-47 code of the language spoken, e.g. ``en-GB``; None: the model's choice."""
    greeting: str | None = None
    """The cue that opens the call, for the agent; None: the standard one."""
    share_caller_number: bool = False
    """Whether the caller's raw number may reach the model (the session state)."""
    targets: Mapping[str, Destination] = field(default_factory=dict)
    hours: Hours | None = None
    after_hours_agent: str | None = None
    after_hours: Onward | None = None
    """Outside ``hours``: another agent answers, or this message and destination (or both
    unset: the route answers as usual)."""
    overflow: Onward | None = None
    """When this server cannot take the call (no stream for it)."""
    fallback: Onward = DEFAULT_FALLBACK
    """After the agent, when the stream ends without a transfer or a hang-up by the agent."""
    keypad: Keypad = field(default_factory=Keypad)
    silence: SilencePolicy = field(default_factory=SilencePolicy)
    recording: RecordingOptions = field(default_factory=RecordingOptions)
    outbound: OutboundOptions = field(default_factory=OutboundOptions)
    """For calls placed from one of the route's numbers (``RoutingTable.calling_from``)."""
    summary: SummaryOptions = field(default_factory=SummaryOptions)


@dataclass(frozen=True, slots=True)
class Decision:
    """The route a call takes, and whether it arrived outside the route's opening hours."""

    route: Route
    after_hours: bool

    @property
    def agent(self) -> str:
        if self.after_hours and self.route.after_hours_agent:
            return self.route.after_hours_agent
        return self.route.agent


class RoutingTable:
    """The routes of a deployment, and the default route for numbers none of them claims."""

    def __init__(self, routes: Sequence[Route], default: Route, *, source: str = "") -> None:
        self.routes = tuple(routes)
        self.default = default
        self.source = source
        """Where the routes came from (a path), for messages."""
        self._by_name = {route.name: route for route in (*self.routes, default)}

    def named(self, name: str | None) -> Route:
        """The route of that name; the default route for an unknown name or None."""
        if name is None:
            return self.default
        return self._by_name.get(name, self.default)

    def decide(self, *, to_number: str, from_number: str, now: dt.datetime) -> Decision:
        """The route for a call to ``to_number`` from ``from_number`` at ``now``: among the
        routes listing the number, the one with the longest caller prefix the caller's number
        starts with (a route without a prefix matches every caller); else the default route."""
        best: Route | None = None
        for route in self.routes:
            if to_number not in route.numbers:
                continue
            prefix = route.caller_prefix or ""
            if not from_number.startswith(prefix):
                continue
            if best is None or len(prefix) > len(best.caller_prefix or ""):
                best = route
        route = best or self.default
        closed = route.hours is not None and not route.hours.open_at(now)
        return Decision(route, after_hours=closed)

    def calling_from(self, from_number: str) -> Route:
        """The route of an outbound call placed from our ``from_number``: the route that lists
        the number (one without a caller prefix first, else the first in the file), else the
        default route. Outbound calls have no opening hours: the caller is us."""
        listing = [route for route in self.routes if from_number in route.numbers]
        unprefixed = [route for route in listing if route.caller_prefix is None]
        return (unprefixed or listing or [self.default])[0]


def default_table(agent: str) -> RoutingTable:
    """Without a routing file: every number reaches ``agent`` with the standard settings."""
    return RoutingTable((), Route(name="default", agent=agent))
