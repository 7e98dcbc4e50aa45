"""What an outbound call request asks for, checked before anything is queued. Pure.

Numbers are E.164 (``+`` and 8 to 15 digits, no leading zero): Twilio's own format, and the only
one that cannot be misread across countries. The purpose and variables reach the agent (its
session state and its cues), so they are bounded in size and kept to plain text.
"""

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
MAX_PURPOSE_CHARS = 500
MAX_VARIABLES = 20
MAX_VARIABLE_CHARS = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

PlainText = Annotated[str, StringConstraints(strip_whitespace=True)]


def valid_number(value: str) -> bool:
    """Whether ``value`` is an E.164 phone number."""
    return E164.match(value) is not None


class OutboundRequest(BaseModel):
    """``POST /calls``: who to call, from which of our numbers, with which agent and why."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    to: str = Field(description="The number to call, E.164 (e.g. +14155550123).")
    from_: str = Field(alias="from", description="One of our numbers (OUTBOUND_FROM_NUMBERS).")
    agent: str | None = Field(default=None, description="The agent; the default one if unset.")
    purpose: PlainText = Field(default="", max_length=MAX_PURPOSE_CHARS)
    """Why we call, for the agent: "confirm tomorrow's appointment"."""
    variables: dict[str, str] = Field(default_factory=dict)
    """Facts for the agent: {"patient": "Sam Lee", "time": "10:30"}."""

    @field_validator("to", "from_")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not valid_number(value):
            raise ValueError("must be an E.164 number: + and 8 to 15 digits, e.g. +14155550123")
        return value

    @field_validator("purpose")
    @classmethod
    def _plain(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("must be plain text (no control characters)")
        return value

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_VARIABLES:
            raise ValueError(f"at most {MAX_VARIABLES} variables")
        for name, text in value.items():
            if not _NAME.match(name):
                raise ValueError(f"variable names are identifiers (letters, digits, _): {name!r}")
            if len(text) > MAX_VARIABLE_CHARS or _CONTROL.search(text):
                raise ValueError(
                    f"variable {name!r}: plain text of at most {MAX_VARIABLE_CHARS} characters"
                )
        return value


def from_numbers(setting: str) -> frozenset[str]:
    """The numbers outbound calls may come from, from ``OUTBOUND_FROM_NUMBERS``."""
    return frozenset(number.strip() for number in setting.split(",") if number.strip())
