"""A route's own options for recordings, outbound calls and summaries.

Each field left unset (None) means "as the deployment's settings say": a route states only
what differs, and a route that states nothing behaves exactly as the settings. The values are
merged with the settings where they are used (``telephony.policy.policy_for``,
``telephony.summaries.plans``); ``option_tables`` reads them from the routing file.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class AmdRule(StrEnum):
    """What an outbound call does with an answer detection could not call human or machine."""

    GREET = "greet"
    """Treat it as a person: the agent greets."""
    VOICEMAIL = "voicemail"
    """Treat it as a machine that has finished its greeting: leave the message."""
    HANG_UP = "hang_up"
    """End the call without a word."""


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    """``[route.recording]``: which recordings the route's calls get, and the announcement."""

    record_heard: bool | None = None
    record_twilio: bool | None = None
    consent_announcement: str | None = None
    """``""``: no announcement, even where ``RECORDING_CONSENT`` sets one."""
    pause_on_digits: bool | None = None
    digits_quiet_s: float | None = None


@dataclass(frozen=True, slots=True)
class OutboundOptions:
    """``[route.outbound]``: calls placed from the route's number, and who answers them."""

    callback_number: str | None = None
    on_fax: AmdRule | None = None
    on_unknown: AmdRule | None = None
    amd_timeout_s: float | None = None
    on_amd_timeout: AmdRule | None = None


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    """``[route.summary]``: the structured fields the route's summaries extract (a JSON
    schema) and where they are delivered."""

    fields_schema: Mapping[str, Any] | None = None
    webhook_url: str | None = None


def given(options: RecordingOptions | OutboundOptions) -> dict[str, Any]:
    """The fields a route sets, by name (they are ``RoutePolicy``'s names); unset ones left out."""
    values = {field.name: getattr(options, field.name) for field in fields(options)}
    return {name: value for name, value in values.items() if value is not None}
