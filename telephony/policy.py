"""What a route asks of its calls beyond the agent: recordings, consent, voicemail, AMD rules.

The deployment's settings give the defaults (``policy_from``); a route's ``[route.recording]``
and ``[route.outbound]`` tables override the fields they set (``policy_for``).
"""

from dataclasses import dataclass, replace

from telephony.config import Settings
from telephony.routing import AmdRule, Route
from telephony.routing.options import given

__all__ = ["AmdRule", "RoutePolicy", "policy_for", "policy_from", "with_consent"]


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """A route's options for its calls."""

    record_heard: bool = False
    """The server records what the caller heard (a stereo WAV)."""
    record_twilio: bool = False
    """Twilio records the call (over REST)."""
    consent_announcement: str | None = None
    """Said before any recording starts; None: no announcement."""
    pause_on_digits: bool = True
    """Twilio's recording pauses while the caller types digits, and resumes after."""
    digits_quiet_s: float = 3.0
    """How long after the last digit the recording resumes."""
    callback_number: str | None = None
    """The number a voicemail message gives to call back (None: the call's own ``from``)."""
    on_fax: AmdRule = AmdRule.HANG_UP
    on_unknown: AmdRule = AmdRule.GREET
    amd_timeout_s: float = 8.0
    on_amd_timeout: AmdRule = AmdRule.GREET
    """Detection that has not answered in ``amd_timeout_s``: people do not wait long."""

    @property
    def records(self) -> bool:
        return self.record_heard or self.record_twilio

    @property
    def announcement(self) -> str | None:
        """What the agent announces first: the consent announcement, on a recorded route."""
        return self.consent_announcement if self.records else None


def policy_from(settings: Settings) -> RoutePolicy:
    """The deployment's defaults, from the settings."""
    return RoutePolicy(
        record_heard=settings.record_heard,
        record_twilio=settings.record_twilio,
        consent_announcement=settings.recording_consent or None,
        pause_on_digits=settings.recording_pause_on_digits,
        callback_number=settings.voicemail_callback_number or None,
        amd_timeout_s=settings.amd_timeout_s,
    )


def policy_for(route: Route, settings: Settings) -> RoutePolicy:
    """The policy of a call on ``route``: the settings' defaults, with what the route sets."""
    policy = replace(policy_from(settings), **given(route.recording), **given(route.outbound))
    # The route's "" says: no announcement, whatever RECORDING_CONSENT says.
    return replace(policy, consent_announcement=policy.consent_announcement or None)


def with_consent(cue: str, announcement: str | None) -> str:
    """The agent's first cue, asking it to begin with the recording announcement word for word
    (recordings at Twilio start only once that turn has been heard)."""
    if not announcement:
        return cue
    return (
        cue.removesuffix("]")
        + f' Begin with exactly these words, before anything else: "{announcement}"]'
    )
