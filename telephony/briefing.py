"""What the person taking a warm transfer hears before the caller is put through.

A short spoken briefing (``<Say>``): who is calling, why, what was done so far. A text model
writes it from the call's transcript (the summaries' ``generate_content`` path, one short
prompt); when the model is unavailable, answers badly or is slower than ``timeout_s``, a
template built from the transfer's reason and the last turns stands in. The transfer never
fails because of its briefing.

Who is calling is "a caller" unless the route lets the caller's number reach the model
(``share_caller_number``): the briefing says no more than the agent was allowed to know.
"""

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from google import genai
from google.genai import errors

from telephony.transcripts import Speaker, Transcript
from telephony.twilio.twiml import clean_text

logger = logging.getLogger(__name__)

MAX_BRIEFING_CHARS = 600
"""About 40 seconds of speech at most; a briefing is meant to take a few seconds."""
MAX_QUOTE_WORDS = 25
"""A turn quoted in the template briefing is cut to this many words."""
PROMPT_TURNS = 20
"""The most recent turns the model is shown (the start of a long call matters less)."""
DEFAULT_TIMEOUT_S = 4.0
_MODEL_ERRORS = (errors.APIError, OSError, TimeoutError, ValueError)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class BriefingFacts:
    """What a briefing may say: the transfer, the caller as the agent knew them, and the
    conversation as the caller heard it (``("caller" | "agent", words)``, oldest first)."""

    target: str
    reason: str
    caller: str
    """"a caller", or the caller's number where the route allows it."""
    business: str | None = None
    turns: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Briefing:
    text: str
    source: Literal["model", "template"]


def facts_from(
    transcript: Transcript | None,
    *,
    target: str,
    reason: str,
    business: str | None,
    caller_number: str | None,
) -> BriefingFacts:
    """The facts of a briefing; ``caller_number`` only when the route shares it."""
    turns: list[tuple[str, str]] = []
    for turn in transcript.turns if transcript is not None else ():
        if turn.speaker is Speaker.SYSTEM:
            continue
        words = turn.heard_text if turn.speaker is Speaker.AGENT else turn.text
        words = _SPACE.sub(" ", words or "").strip()
        if words:
            turns.append(("agent" if turn.speaker is Speaker.AGENT else "caller", words))
    caller = f"the caller at {caller_number}" if caller_number else "a caller"
    return BriefingFacts(target, reason.strip(), caller, business, tuple(turns))


def template_briefing(facts: BriefingFacts) -> str:
    """The briefing without a model: the reason and the caller's last words."""
    who = f"the {facts.business} assistant" if facts.business else "the phone assistant"
    parts = [f"Hello, this is {who} with {facts.caller} for {facts.target}."]
    if facts.reason:
        parts.append(f"The caller needs help with: {_sentence(facts.reason)}")
    said = _last(facts.turns, "caller")
    if said:
        parts.append(f"They said: {_quote(said)}")
    told = _last(facts.turns, "agent")
    if told:
        parts.append(f"I told them: {_quote(told)}")
    parts.append("Connecting you now.")
    return spoken(" ".join(parts))


def briefing_prompt(facts: BriefingFacts) -> str:
    """One short request: the instructions, the facts, the latest turns."""
    lines = [
        "You brief a colleague who is about to take over a phone call from a voice agent. "
        "Write what they hear before they are connected: at most three short spoken "
        "sentences saying who is calling, why, and what was done so far. Plain words only: "
        "no lists, no markup, no phone numbers other than the caller identity given below.",
        f"Business: {facts.business or 'unknown'}",
        f"Transferred to: {facts.target}",
        f"Caller: {facts.caller}",
        f"<transfer_reason>{facts.reason}</transfer_reason>",
        "Transcript:",
    ]
    for index, (who, words) in enumerate(facts.turns[-PROMPT_TURNS:]):
        lines.append(f"[{index}] {who}: {words}")
    return "\n".join(lines)


def spoken(text: str) -> str:
    """``text`` fit for a ``<Say>``: one line, no markup characters, at most
    ``MAX_BRIEFING_CHARS`` (cut at a word)."""
    flat = _SPACE.sub(" ", clean_text(text.replace("\n", " "), 10 * MAX_BRIEFING_CHARS))
    flat = flat.replace("*", "").replace("#", "").strip()
    if len(flat) <= MAX_BRIEFING_CHARS:
        return flat
    return flat[:MAX_BRIEFING_CHARS].rsplit(" ", 1)[0] + "..."


class BriefingWriter:
    """Writes briefings with a text model, bounded by ``timeout_s``, else from the template."""

    def __init__(
        self, client: genai.Client | None, *, model: str, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._client, self.model, self.timeout_s = client, model, timeout_s

    async def write(self, facts: BriefingFacts, *, call_sid: str) -> Briefing:
        if self._client is not None:
            text = await self._ask(briefing_prompt(facts), call_sid)
            if text:
                return Briefing(text, "model")
        return Briefing(template_briefing(facts), "template")

    async def _ask(self, prompt: str, call_sid: str) -> str | None:
        assert self._client is not None
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await self._client.aio.models.generate_content(
                    model=self.model, contents=prompt
                )
        except _MODEL_ERRORS as exc:
            logger.warning(
                "call %s: briefing model unavailable (%s); using the template",
                call_sid,
                type(exc).__name__,
            )
            return None
        except Exception:
            # google-genai's async transport (aiohttp) raises errors of its own (a server that
            # disconnects): the caller on hold must not wait on them, the template will do.
            logger.exception("call %s: briefing model failed; using the template", call_sid)
            return None
        text = spoken(answer.text or "")
        if not text:
            logger.warning("call %s: the briefing model gave no text; using the template", call_sid)
        return text or None


def _last(turns: Sequence[tuple[str, str]], who: str) -> str | None:
    return next((words for speaker, words in reversed(turns) if speaker == who), None)


def _quote(words: str) -> str:
    cut = words.split()
    text = " ".join(cut[:MAX_QUOTE_WORDS])
    return _sentence(text + ("..." if len(cut) > MAX_QUOTE_WORDS else ""))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "...")) else text + "."
