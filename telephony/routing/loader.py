"""Reading a routing file (TOML) into a ``RoutingTable``, checked whole at start-up.

Every mistake is reported with the file and the line it is on, and what is wrong::

    routes.toml:14: route 'support': numbers[1]: '555 0100' is not an E.164 number

The layout (see the README for a full example)::

    [default]                       # optional: numbers no route lists
    agent = "receptionist"

    [[route]]
    name = "support"
    numbers = ["+14155550100"]
    caller_prefix = "+44"           # optional
    agent = "frontdesk"
    voice = "Puck"
    ...
    [route.targets.billing]
    number = "+14155550111"         # or sip / client / queue / workflow
    [route.hours]
    timezone = "America/New_York"
    monday = "09:00-17:00"          # "closed", or windows joined by commas
    [route.after_hours]
    say = "We are closed."          # then target = "<name>", or a destination, or a hang-up
    [route.fallback]  /  [route.overflow]   # the same shape as after_hours
    [route.keypad]  /  [route.silence]
    [route.recording]  /  [route.outbound]  /  [route.summary]   # see option_tables.py
"""

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telephony.errors import NotConfiguredError
from telephony.routing.option_tables import outbound_options, recording_options, summary_options
from telephony.routing.routes import (
    DAYS,
    DEFAULT_FALLBACK,
    E164,
    Hours,
    Keypad,
    Route,
    RoutingTable,
    SilencePolicy,
    Window,
)
from telephony.twilio.destinations import DEFAULT_DIAL_TIMEOUT_S, Destination, Kind, Onward

_PREFIX = re.compile(r"\+[0-9]{1,14}")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_AGENT = re.compile(r"[a-z][a-z0-9_]{0,62}")
_VOICE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_WINDOW = re.compile(r"([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])")
_DIGITS = frozenset("0123456789*#")
_ROUTE_KEYS = frozenset(
    {
        "name",
        "numbers",
        "caller_prefix",
        "agent",
        "business_name",
        "voice",
        "language",
        "greeting",
        "share_caller_number",
        "targets",
        "hours",
        "after_hours",
        "overflow",
        "fallback",
        "keypad",
        "silence",
        "recording",
        "outbound",
        "summary",
    }
)
_ONWARD_KEYS = frozenset({"say", "target", "agent", *Kind})


class RoutingFileError(NotConfiguredError):
    """The routing file cannot be used; the message names the file, the line and the problem."""


def load_routes(path: Path, default_agent: str) -> RoutingTable:
    """Read and check the routing file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingFileError(f"{path}: cannot read the routing file: {exc}") from exc
    return parse_routes(text, default_agent, source=str(path))


def parse_routes(text: str, default_agent: str, *, source: str = "routes.toml") -> RoutingTable:
    """Check routing-file ``text`` whole; raise ``RoutingFileError`` for its first mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise RoutingFileError(f"{source}: not valid TOML: {exc}") from exc
    reader = _Reader(text, source)
    unknown = set(data) - {"route", "default"}
    if unknown:
        raise reader.error(None, sorted(unknown)[0], "unknown top-level key")
    default_data = data.get("default", {})
    if not isinstance(default_data, dict):
        raise reader.error(None, "default", "must be a table")
    default_data = {"name": "default", **default_data}
    default = reader.route(default_data, None, default_agent, numbered=False)
    listed = data.get("route", [])
    if not isinstance(listed, list):
        raise reader.error(None, "route", "must be an array of tables: [[route]]")
    routes: list[Route] = []
    seen_names: set[str] = {"default"}
    seen_numbers: dict[tuple[str, str], str] = {}
    for index, item in enumerate(listed):
        if not isinstance(item, dict):
            raise reader.error(index, "route", "must be a table")
        route = reader.route(item, index, default_agent, numbered=True)
        if route.name in seen_names:
            raise reader.error(
                index, "name", f"the name {route.name!r} is used twice", label=route.name
            )
        seen_names.add(route.name)
        for number in route.numbers:
            key = (number, route.caller_prefix or "")
            if key in seen_numbers:
                raise reader.error(
                    index,
                    "numbers",
                    f"{number} is already routed by {seen_numbers[key]!r}",
                    label=route.name,
                )
            seen_numbers[key] = route.name
        routes.append(route)
    return RoutingTable(routes, default, source=source)


class _Reader:
    """Checks the values of one file and finds the lines mistakes are on."""

    def __init__(self, text: str, source: str) -> None:
        self._lines = text.splitlines()
        self._source = source
        headers = [
            number
            for number, line in enumerate(self._lines)
            if re.match(r"\s*\[\[\s*route\s*\]\]", line)
        ]
        self._spans = [
            (start, headers[i + 1] if i + 1 < len(headers) else len(self._lines))
            for i, start in enumerate(headers)
        ]

    # -- errors ---------------------------------------------------------------------------

    def error(self, index: int | None, key: str, problem: str, *, label: str = "") -> Exception:
        where = f"{self._source}:{self._line(index, key)}"
        what = f"route {label!r}: " if label else ""
        return RoutingFileError(f"{where}: {what}{key}: {problem}")

    def _line(self, index: int | None, key: str) -> int:
        """The 1-based line of ``key`` in route ``index``'s part of the file (None: the part
        before the first route): under the longest ``[route.<dotted prefix>]`` header of the
        key found there, the line that sets its last part; else that header, else the route's
        own header line."""
        if index is None:
            start, end = 0, self._spans[0][0] if self._spans else len(self._lines)
        else:
            start, end = self._spans[index] if index < len(self._spans) else (0, len(self._lines))
        parts = [part.split("[")[0] for part in key.split(".")]
        for size in range(len(parts) - 1, 0, -1):
            header = re.compile(
                r"^\s*\[\s*route\." + r"\.".join(map(re.escape, parts[:size])) + r"\s*\]"
            )
            found = self._find(header, start, end)
            if found is not None:
                start = found
                break
        leaf = re.escape(parts[-1])
        # ``leaf = ...``, a dotted ``parent.leaf = ...``, or a table header ending in leaf.
        setting = re.compile(rf'^\s*((?:[\w"-]+\.)*"?{leaf}"?\s*=|\[.*\b{leaf}\s*\])')
        found = self._find(setting, start, end)
        return (found if found is not None else start) + 1

    def _find(self, pattern: re.Pattern[str], start: int, end: int) -> int | None:
        for number in range(start, end):
            if pattern.search(self._lines[number]):
                return number
        return None

    # -- a route --------------------------------------------------------------------------

    def route(
        self, data: dict[str, Any], index: int | None, default_agent: str, *, numbered: bool
    ) -> Route:
        label = str(data.get("name", f"#{(index or 0) + 1}"))

        def fail(key: str, problem: str) -> Exception:
            return self.error(index, key, problem, label=label)

        unknown = set(data) - _ROUTE_KEYS
        if unknown:
            raise fail(sorted(unknown)[0], "unknown key")
        name = _text(data, "name", fail, required=True)
        if not _NAME.fullmatch(name):
            raise fail("name", "use lower-case letters, digits, - and _")
        numbers: tuple[str, ...] = ()
        if numbered:
            raw = data.get("numbers")
            if not isinstance(raw, list) or not raw:
                raise fail("numbers", 'give at least one number, e.g. ["+14155550100"]')
            for position, number in enumerate(raw):
                if not isinstance(number, str) or not E164.fullmatch(number):
                    raise fail(f"numbers[{position}]", f"{number!r} is not an E.164 number")
            numbers = tuple(raw)
        elif "numbers" in data:
            raise fail("numbers", "the default route takes every number no route lists")
        prefix = _text(data, "caller_prefix", fail)
        if prefix is not None and not _PREFIX.fullmatch(prefix):
            raise fail("caller_prefix", f"{prefix!r} is not the start of an E.164 number")
        agent = _text(data, "agent", fail) or default_agent
        if not _AGENT.fullmatch(agent):
            raise fail("agent", f"{agent!r} is not an agent package name")
        voice = _text(data, "voice", fail)
        if voice is not None and not _VOICE.fullmatch(voice):
            raise fail("voice", f"{voice!r} is not a voice name")
        language = _text(data, "language", fail)
        if language is not None and not _LANGUAGE.fullmatch(language):
            raise fail("language", f"{language!r} is not a BCP-47 language code")
        share = data.get("share_caller_number", False)
        if not isinstance(share, bool):
            raise fail("share_caller_number", "must be true or false")
        targets = self._targets(data.get("targets", {}), fail)
        hours = self._hours(data.get("hours"), fail)
        after_agent, after = self._after_hours(data.get("after_hours"), targets, fail)
        if (after_agent or after) and hours is None:
            raise fail("after_hours", "a route without hours is never after hours")
        fallback = self._onward(data.get("fallback"), "fallback", targets, fail)
        return Route(
            name=name,
            agent=agent,
            numbers=numbers,
            caller_prefix=prefix,
            business_name=_text(data, "business_name", fail),
            voice=voice,
            language=language,
            greeting=_text(data, "greeting", fail),
            share_caller_number=share,
            targets=targets,
            hours=hours,
            after_hours_agent=after_agent,
            after_hours=after,
            overflow=self._onward(data.get("overflow"), "overflow", targets, fail),
            fallback=fallback or DEFAULT_FALLBACK,
            keypad=self._keypad(data.get("keypad", {}), targets, fail),
            silence=self._silence(data.get("silence", {}), fail),
            recording=recording_options(data.get("recording"), fail),
            outbound=outbound_options(data.get("outbound"), fail),
            summary=summary_options(data.get("summary"), fail),
        )

    def _targets(self, raw: object, fail: Any) -> dict[str, Destination]:
        if not isinstance(raw, dict):
            raise fail("targets", "must be a table of name = { number = ... }")
        targets: dict[str, Destination] = {}
        for name, value in raw.items():
            if not _NAME.fullmatch(name):
                raise fail(f"targets.{name}", "use lower-case letters, digits, - and _")
            if not isinstance(value, dict):
                raise fail(f"targets.{name}", "must be a table with one of " + _kinds())
            unknown = set(value) - {*Kind, "caller_id", "timeout_s"}
            if unknown:
                raise fail(f"targets.{name}.{sorted(unknown)[0]}", "unknown key")
            destination = _destination(value, f"targets.{name}", fail)
            if destination is None:
                raise fail(f"targets.{name}", "give one of " + _kinds())
            targets[name] = destination
        return targets

    def _hours(self, raw: object, fail: Any) -> Hours | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise fail("hours", "must be a table")
        unknown = set(raw) - {"timezone", *DAYS}
        if unknown:
            raise fail(f"hours.{sorted(unknown)[0]}", "unknown key (days are spelt in full)")
        zone = raw.get("timezone")
        if not isinstance(zone, str):
            raise fail("hours.timezone", 'give a time zone, e.g. "Europe/London"')
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise fail("hours.timezone", f"unknown time zone {zone!r}") from exc
        week = []
        for day in DAYS:
            spec = raw.get(day, "closed")
            if not isinstance(spec, str):
                raise fail(
                    f"hours.{day}", 'write "09:00-17:00", several joined by commas, or "closed"'
                )
            week.append(_windows(spec, f"hours.{day}", fail))
        return Hours(zone, tuple(week))

    def _after_hours(
        self, raw: object, targets: Mapping[str, Destination], fail: Any
    ) -> tuple[str | None, Onward | None]:
        if raw is None:
            return None, None
        if not isinstance(raw, dict):
            raise fail("after_hours", "must be a table")
        agent = raw.get("agent")
        if agent is not None:
            if not isinstance(agent, str) or not _AGENT.fullmatch(agent):
                raise fail("after_hours.agent", f"{agent!r} is not an agent package name")
            if set(raw) != {"agent"}:
                raise fail("after_hours", "give either an agent or a message and destination")
            return agent, None
        return None, self._onward(raw, "after_hours", targets, fail)

    def _onward(
        self, raw: object, key: str, targets: Mapping[str, Destination], fail: Any
    ) -> Onward | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise fail(key, "must be a table")
        unknown = set(raw) - _ONWARD_KEYS
        if unknown or "agent" in raw:
            raise fail(f"{key}.{sorted(unknown or {'agent'})[0]}", "unknown key")
        say = raw.get("say")
        if say is not None and (not isinstance(say, str) or not say.strip()):
            raise fail(f"{key}.say", "must be the words to say")
        destination = _destination(raw, key, fail)
        target = raw.get("target")
        if target is not None:
            if destination is not None:
                raise fail(f"{key}.target", "give a target or a destination, not both")
            if target not in targets:
                raise fail(f"{key}.target", f"no transfer target named {target!r}")
            destination = targets[target]
        if say is None and destination is None:
            raise fail(key, "give words to say, a destination, or both")
        return Onward(say=say, destination=destination)

    def _keypad(self, raw: object, targets: Mapping[str, Destination], fail: Any) -> Keypad:
        if not isinstance(raw, dict):
            raise fail("keypad", "must be a table")
        unknown = set(raw) - {"terminator", "inter_digit_timeout_s", "max_digits", "mask", "menu"}
        if unknown:
            raise fail(f"keypad.{sorted(unknown)[0]}", "unknown key")
        terminator = raw.get("terminator", "#")
        if terminator not in ("#", "*", ""):
            raise fail("keypad.terminator", 'must be "#", "*" or "" (none)')
        timeout = _number(raw, "inter_digit_timeout_s", 3.0, fail, prefix="keypad.")
        max_digits = raw.get("max_digits", 16)
        if not isinstance(max_digits, int) or isinstance(max_digits, bool) or max_digits < 1:
            raise fail("keypad.max_digits", "must be a whole number of at least 1")
        mask = raw.get("mask", True)
        if not isinstance(mask, bool):
            raise fail("keypad.mask", "must be true or false")
        menu = raw.get("menu", {})
        if not isinstance(menu, dict):
            raise fail("keypad.menu", 'must be a table of digit = "what it asks for"')
        for digit, choice in menu.items():
            if digit not in _DIGITS or digit == terminator:
                raise fail(f"keypad.menu.{digit}", "menu keys are single keypad keys")
            if not isinstance(choice, str) or not choice.strip():
                raise fail(f"keypad.menu.{digit}", "must name a target or what the caller wants")
        return Keypad(terminator, timeout, max_digits, mask, dict(menu))

    def _silence(self, raw: object, fail: Any) -> SilencePolicy:
        if not isinstance(raw, dict):
            raise fail("silence", "must be a table")
        keys = {"reprompt_after_s", "max_reprompts", "max_duration_s", "warn_before_s"}
        unknown = set(raw) - keys
        if unknown:
            raise fail(f"silence.{sorted(unknown)[0]}", "unknown key")
        reprompts = raw.get("max_reprompts", 2)
        if not isinstance(reprompts, int) or isinstance(reprompts, bool) or reprompts < 0:
            raise fail("silence.max_reprompts", "must be a whole number, 0 or more")
        return SilencePolicy(
            reprompt_after_s=_number(raw, "reprompt_after_s", None, fail, prefix="silence."),
            max_reprompts=reprompts,
            max_duration_s=_number(raw, "max_duration_s", None, fail, prefix="silence."),
            warn_before_s=_number(raw, "warn_before_s", 60.0, fail, prefix="silence.") or 60.0,
        )


def _kinds() -> str:
    return ", ".join(kind.value for kind in Kind)


def _text(data: Mapping[str, Any], key: str, fail: Any, *, required: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise fail(key, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "must be non-empty text")
    return value


def _number(
    data: Mapping[str, Any], key: str, default: float | None, fail: Any, *, prefix: str
) -> Any:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail(prefix + key, "must be a positive number of seconds")
    return float(value)


def _destination(raw: Mapping[str, Any], key: str, fail: Any) -> Destination | None:
    given = [kind for kind in Kind if kind in raw]
    if not given:
        return None
    if len(given) > 1:
        raise fail(f"{key}.{given[1]}", "give one destination: " + _kinds())
    kind = given[0]
    address = raw[kind]
    if not isinstance(address, str) or not address.strip():
        raise fail(f"{key}.{kind}", "must be non-empty text")
    if kind is Kind.NUMBER and not E164.fullmatch(address):
        raise fail(f"{key}.{kind}", f"{address!r} is not an E.164 number")
    if kind is Kind.SIP and not address.startswith(("sip:", "sips:")):
        raise fail(f"{key}.{kind}", f"{address!r} is not a SIP URI (sip:...)")
    if kind is Kind.CLIENT and address.startswith("client:"):
        address = address.removeprefix("client:")
    if kind is Kind.WORKFLOW and not re.fullmatch(r"WW[0-9a-f]{32}", address):
        raise fail(f"{key}.{kind}", f"{address!r} is not a TaskRouter workflow SID (WW...)")
    caller_id = raw.get("caller_id")
    if caller_id is not None and (not isinstance(caller_id, str) or not E164.fullmatch(caller_id)):
        raise fail(f"{key}.caller_id", f"{caller_id!r} is not an E.164 number")
    timeout = raw.get("timeout_s", DEFAULT_DIAL_TIMEOUT_S)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 5 <= timeout <= 600:
        raise fail(f"{key}.timeout_s", "must be whole seconds between 5 and 600")
    return Destination(kind, address, caller_id=caller_id, timeout_s=timeout)


def _windows(spec: str, key: str, fail: Any) -> tuple[Window, ...]:
    spec = spec.strip()
    if spec == "closed":
        return ()
    windows = []
    for part in spec.split(","):
        match = _WINDOW.fullmatch(part.strip())
        if match is None:
            raise fail(key, f'{part.strip()!r} is not a window like "09:00-17:00"')
        h1, m1, h2, m2 = (int(group) for group in match.groups())
        if h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise fail(key, f"{part.strip()!r}: hours run from 00:00 to 24:00")
        start = dt.time(h1, m1)
        end = dt.time.max if h2 == 24 else dt.time(h2, m2)
        if end <= start:
            raise fail(key, f"{part.strip()!r} ends before it starts")
        windows.append(Window(start, end))
    return tuple(windows)
