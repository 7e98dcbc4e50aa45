"""Reading the TwiML a webhook answers with: what Twilio would do next on the call.

The simulator follows one shape closely, ``<Connect><Stream url>`` with its ``<Parameter>``s, and
records everything else as plain verbs: the verbs before ``<Connect>``, and the ones after it
(the safety net Twilio runs when the stream ends without a REST update).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from telephony.errors import ProtocolError


class TwimlError(ProtocolError):
    """The document is not TwiML Twilio could run."""


@dataclass(frozen=True)
class Verb:
    """One TwiML element with its attributes, text and nested elements."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()


@dataclass(frozen=True)
class StreamSpec:
    """A bidirectional ``<Connect><Stream>``: where to connect and what to put in ``start``."""

    url: str
    parameters: dict[str, str]
    attributes: dict[str, str]
    connect_attributes: dict[str, str]

    @property
    def status_callback(self) -> str | None:
        return self.attributes.get("statusCallback")

    @property
    def connect_action(self) -> str | None:
        """``<Connect action>``: Twilio requests it instead of running the verbs after."""
        return self.connect_attributes.get("action")


@dataclass(frozen=True)
class Twiml:
    """A parsed ``<Response>``."""

    source: str
    verbs: tuple[Verb, ...]
    stream: StreamSpec | None
    before_connect: tuple[Verb, ...]
    after_connect: tuple[Verb, ...]

    def verb_names(self) -> list[str]:
        return [verb.name for verb in self.verbs]

    def find(self, name: str) -> list[Verb]:
        """Every element called ``name``, at any depth, in document order."""
        found: list[Verb] = []
        stack = list(reversed(self.verbs))
        while stack:
            verb = stack.pop()
            if verb.name == name:
                found.append(verb)
            stack.extend(reversed(verb.children))
        return found


def parse_twiml(source: str | bytes) -> Twiml:
    """Parse a TwiML document; raise :class:`TwimlError` if Twilio could not run it."""
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise TwimlError(f"TwiML is not well-formed XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"TwiML root element is <{root.tag}>, not <Response>")
    verbs = tuple(_verb(element) for element in root)
    stream: StreamSpec | None = None
    before: tuple[Verb, ...] = verbs
    after: tuple[Verb, ...] = ()
    for index, verb in enumerate(verbs):
        if verb.name != "Connect":
            continue
        streams = [child for child in verb.children if child.name == "Stream"]
        if len(streams) > 1:
            raise TwimlError("<Connect> holds more than one <Stream>")
        if streams:
            stream = _stream_spec(streams[0], verb)
            before, after = verbs[:index], verbs[index + 1 :]
        break
    return Twiml(text, verbs, stream, before, after)


def _verb(element: ET.Element) -> Verb:
    return Verb(
        name=element.tag,
        attributes=dict(element.attrib),
        text=(element.text or "").strip(),
        children=tuple(_verb(child) for child in element),
    )


def _stream_spec(stream: Verb, connect: Verb) -> StreamSpec:
    url = stream.attributes.get("url", "")
    if not url:
        raise TwimlError("<Stream> has no url")
    parameters: dict[str, str] = {}
    for child in stream.children:
        if child.name != "Parameter":
            raise TwimlError(f"<Stream> may hold only <Parameter>, found <{child.name}>")
        name = child.attributes.get("name")
        if not name:
            raise TwimlError("<Parameter> has no name")
        parameters[name] = child.attributes.get("value", "")
    return StreamSpec(url, parameters, dict(stream.attributes), dict(connect.attributes))


def stream_url_problems(spec: StreamSpec) -> list[str]:
    """What Twilio would refuse in a stream URL (the simulator connects anyway, and reports)."""
    problems: list[str] = []
    if not spec.url.startswith("wss://"):
        problems.append("stream URL is not wss://")
    if "?" in spec.url:
        problems.append("stream URL has a query string")
    for name, value in spec.parameters.items():
        if len(name) + len(value) >= 500:
            problems.append(f"<Parameter> {name!r} is 500 characters or more")
    return problems
