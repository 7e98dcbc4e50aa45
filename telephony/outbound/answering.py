"""Who answered an outbound call, and what the agent does about it. Pure.

Twilio's asynchronous answering machine detection (``AsyncAmd=true`` with
``MachineDetection=DetectMessageEnd``) connects the call at once and reports later, once:
``human``; ``machine_end_beep`` / ``machine_end_silence`` / ``machine_end_other`` when a
machine's greeting has ended (it is recording now); ``fax``; ``unknown``; ``machine_start``
only without ``DetectMessageEnd``. Until then the call listens: the agent says nothing, so that
it never talks into a greeting or over a beep.
"""

from collections.abc import Mapping
from enum import StrEnum

from telephony.policy import AmdRule, RoutePolicy

MACHINE_ENDS = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


class Action(StrEnum):
    GREET = "greet"
    """A person: the agent greets them."""
    VOICEMAIL = "voicemail"
    """A machine that is recording: leave the message, then hang up."""
    HANG_UP = "hang_up"
    """End the call without a word."""
    WAIT = "wait"
    """Keep listening (a machine still playing its greeting)."""


_RULES = {AmdRule.GREET: Action.GREET, AmdRule.VOICEMAIL: Action.VOICEMAIL}


def decide(answered_by: str, policy: RoutePolicy) -> Action:
    """What to do with Twilio's ``AnsweredBy``."""
    if answered_by == "human":
        return Action.GREET
    if answered_by in MACHINE_ENDS:
        return Action.VOICEMAIL
    if answered_by == "machine_start":
        return Action.WAIT
    rule = policy.on_fax if answered_by == "fax" else policy.on_unknown
    return _RULES.get(rule, Action.HANG_UP)


def on_timeout(policy: RoutePolicy) -> Action:
    """Detection has not answered within the policy's timeout."""
    return _RULES.get(policy.on_amd_timeout, Action.HANG_UP)


def _facts(variables: Mapping[str, str]) -> str:
    return "; ".join(f"{name}: {value}" for name, value in variables.items())


def greeting_cue(purpose: str, variables: Mapping[str, str]) -> str:
    """The cue for a person who picked up: we called them, and why."""
    facts = _facts(variables)
    return (
        "[You placed this phone call and the person has just answered. Greet them, say who you "
        f"are calling from and why: {purpose or 'a follow-up'}."
        + (f" Facts you may use: {facts}." if facts else "")
        + "]"
    )


def voicemail_cue(purpose: str, variables: Mapping[str, str], callback_number: str) -> str:
    """The cue for a machine that is recording: one short message, with a call-back number."""
    facts = _facts(variables)
    spaced = " ".join(callback_number.removeprefix("+"))
    return (
        "[You placed this phone call and reached voicemail; it is recording now. Leave one short "
        f"message (under 20 seconds) about: {purpose or 'a follow-up'}."
        + (f" Facts you may use: {facts}." if facts else "")
        + f" Ask them to call back on {spaced}, say it slowly, then say goodbye. Do not ask "
        "questions: nobody will answer.]"
    )
