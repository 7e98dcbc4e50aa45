"""Conversation scripts: what the caller says, what the model answers and which tools it uses.

A ``Conversation`` is a greeting and a cycle of ``Exchange``s. The caller's n-th turn on the
emulator is heard as exchange n's ``caller`` (cycling); the model answers with its ``reply``. An
exchange with a ``tool`` makes the model say the tool's ``preamble`` (with
``Tools.speak_preambles``), call the tool, wait for the response and then speak the reply, in
which ``{result}`` stands for the tool's result as text.
A model can only call tools the client declared: when the session's setup does not declare the
tool, the reply is spoken at once with the tool's ``fallback`` as the result.

``RECEPTIONIST`` fits ``agents/receptionist`` (Harbour Street Dental): opening hours through its
``opening_hours(day)`` tool, then a message for the team through ``take_message``.
"""

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RESULT_FIELD = "result"
"""google-adk wraps a tool's non-dict return value as ``{"result": value}``."""


@dataclass(frozen=True)
class ToolStep:
    """A tool call the model makes in an exchange."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    preamble: str | None = None
    """Spoken before the call with ``Tools.speak_preambles`` (None: ``Tools.preamble``)."""
    fallback: str = ""
    """The result spoken when the tool is not declared."""


@dataclass(frozen=True)
class Exchange:
    caller: str
    reply: str
    """The model's answer; ``{result}`` is replaced by the tool's result."""
    tool: ToolStep | None = None

    def __post_init__(self) -> None:
        fields = {name for _, name, _, _ in string.Formatter().parse(self.reply) if name}
        if not fields <= {RESULT_FIELD}:
            raise ValueError(f"a reply may only use {{{RESULT_FIELD}}}: {self.reply!r}")

    def answer(self, result: str | None) -> str:
        """The reply with ``result`` (or the tool's fallback) in place of ``{result}``."""
        if result is None:
            result = self.tool.fallback if self.tool is not None else ""
        return " ".join(self.reply.format(result=result).split())


@dataclass(frozen=True)
class Conversation:
    greeting: str | None
    """The answer to the text turn that opens a session (None: the exchanges' replies)."""
    exchanges: tuple[Exchange, ...]

    def __post_init__(self) -> None:
        if not self.exchanges:
            raise ValueError("a conversation needs at least one exchange")

    @classmethod
    def from_lines(
        cls, greeting: str | None, caller: tuple[str, ...], replies: tuple[str, ...]
    ) -> "Conversation":
        """Caller phrases and replies without tools, paired in order (the shorter cycles)."""
        if not caller or not replies:
            raise ValueError("caller phrases and replies must not be empty")
        count = max(len(caller), len(replies))
        return cls(
            greeting,
            tuple(
                Exchange(caller[i % len(caller)], _literal(replies[i % len(replies)]))
                for i in range(count)
            ),
        )

    @property
    def texts(self) -> tuple[str, ...]:
        """Every text the model may speak (fallback results filled in), for synthesis ahead."""
        spoken = [self.greeting] if self.greeting else []
        for exchange in self.exchanges:
            spoken.append(exchange.answer(None))
            if exchange.tool is not None and exchange.tool.preamble:
                spoken.append(exchange.tool.preamble)
        return tuple(dict.fromkeys(spoken))


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def result_text(response: Mapping[str, Any]) -> str:
    """A tool response as words the model can say: its ``result`` if that is text, else JSON."""
    value = response.get(RESULT_FIELD, response)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))


RECEPTIONIST = Conversation(
    greeting="Harbour Street Dental, how can I help you?",
    exchanges=(
        Exchange(
            caller="Hello, are you open on Saturday?",
            reply="{result} Anything else?",
            tool=ToolStep(
                "opening_hours",
                {"day": "saturday"},
                preamble="Let me check.",
                fallback="On Saturday we are open from nine to one.",
            ),
        ),
        Exchange(
            caller="Yes, could someone call me back about my crown?",
            reply="Of course. Can I take your name and the best time to call you?",
        ),
        Exchange(
            caller="It's Sam Lee, any time after three.",
            reply="Thanks, Sam. The team will call you back this afternoon. Goodbye!",
            tool=ToolStep(
                "take_message",
                {"caller_name": "Sam Lee", "reason": "A call back about a crown, after 3 pm."},
                preamble="Noted.",
            ),
        ),
    ),
)
