"""The warm transfer's briefing: the facts it may use, the template, the prompt, the model's
answer (the Live emulator's ``generateContent``) and what happens when the model fails."""

from datetime import UTC, datetime

from google import genai

from telephony.briefing import (
    MAX_BRIEFING_CHARS,
    PROMPT_TURNS,
    BriefingFacts,
    BriefingWriter,
    briefing_prompt,
    facts_from,
    spoken,
    template_briefing,
)
from telephony.transcripts import Call, Speaker, Transcript, Turn
from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator

CALLER = "+14155550177"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def turn(seq: int, speaker: Speaker, text: str, heard: str | None = None) -> Turn:
    return Turn(
        seq=seq,
        speaker=speaker,
        text=text,
        heard_text=heard,
        interrupted=heard is not None and heard != text,
        start_ms=seq * 1000,
        end_ms=seq * 1000 + 500,
        created_at=NOW,
    )


def transcript(*turns: Turn) -> Transcript:
    call = Call(
        call_sid="CA" + "1" * 32,
        stream_sid=None,
        account_sid=None,
        from_number=CALLER,
        to_number="+14155550100",
        agent="frontdesk",
        direction=None,
        started_at=NOW,
        ended_at=None,
        end_reason=None,
        status=None,
        status_at=None,
    )
    return Transcript(call=call, turns=turns)


CONVERSATION = transcript(
    turn(1, Speaker.AGENT, "Acme, how can I help?", "Acme, how can I help?"),
    turn(2, Speaker.CALLER, "My dishwasher   leaks\nagain since the repair."),
    turn(3, Speaker.AGENT, "I am sorry. I will put you through to support now.", "I am sorry."),
    turn(4, Speaker.SYSTEM, "Warm transfer to support (a leaking dishwasher)."),
)


def facts(caller_number: str | None = None) -> BriefingFacts:
    return facts_from(
        CONVERSATION,
        target="support",
        reason="a dishwasher that still leaks after a repair",
        business="Acme Appliances",
        caller_number=caller_number,
    )


def test_the_facts_are_what_the_caller_heard_without_system_turns() -> None:
    found = facts()
    assert found.turns == (
        ("agent", "Acme, how can I help?"),
        ("caller", "My dishwasher leaks again since the repair."),
        ("agent", "I am sorry."),  # cut short by the caller: what they heard
    )
    assert found.caller == "a caller"
    assert facts(caller_number=CALLER).caller == f"the caller at {CALLER}"


def test_the_template_says_who_why_and_what_was_said_without_the_number() -> None:
    text = template_briefing(facts())
    assert text == (
        "Hello, this is the Acme Appliances assistant with a caller for support. The caller "
        "needs help with: a dishwasher that still leaks after a repair. They said: My "
        "dishwasher leaks again since the repair. I told them: I am sorry. Connecting you now."
    )
    assert CALLER not in text
    assert CALLER in template_briefing(facts(caller_number=CALLER))


def test_the_template_quotes_long_turns_in_part() -> None:
    long = BriefingFacts("billing", "an invoice", "a caller", None, (("caller", "word " * 100),))
    text = template_briefing(long)
    assert text.count("word") == 25 and "word..." in text
    assert text.startswith("Hello, this is the phone assistant with a caller for billing.")


def test_spoken_text_is_one_clean_line_of_bounded_length() -> None:
    assert spoken("Line one\nline\x00 two  *bold* #tag") == "Line one line two bold tag"
    cut = spoken("word " * 400)
    assert len(cut) <= MAX_BRIEFING_CHARS + 3 and cut.endswith("word...")


def test_the_prompt_holds_the_facts_and_only_the_latest_turns() -> None:
    many = BriefingFacts(
        "support",
        "a leak",
        "a caller",
        "Acme",
        tuple(("caller", f"turn {n}") for n in range(PROMPT_TURNS + 5)),
    )
    prompt = briefing_prompt(many)
    assert "<transfer_reason>a leak</transfer_reason>" in prompt
    assert "Transferred to: support" in prompt and "Caller: a caller" in prompt
    assert "turn 4\n" not in prompt and f"turn {PROMPT_TURNS + 4}" in prompt
    assert prompt.count("] caller: ") == PROMPT_TURNS


def text_client(emulator: LiveEmulator) -> genai.Client:
    return genai.Client(api_key=DEFAULT_API_KEY, http_options=emulator.text_http_options())


async def test_the_model_writes_the_briefing_from_the_conversation(
    live_emulator: LiveEmulator,
) -> None:
    writer = BriefingWriter(text_client(live_emulator), model="gemini-2.5-flash", timeout_s=20)
    briefing = await writer.write(facts(), call_sid="CA" + "1" * 32)

    assert briefing.source == "model"
    assert "a dishwasher that still leaks after a repair" in briefing.text
    assert "My dishwasher leaks again since the repair." in briefing.text
    prompt = live_emulator.text.requests[-1]["contents"][0]["parts"][0]["text"]
    assert prompt == briefing_prompt(facts())


async def test_an_unavailable_or_slow_model_leaves_the_template(
    live_emulator: LiveEmulator,
) -> None:
    client = text_client(live_emulator)
    live_emulator.text.fail_next = 10  # overloaded: 503 on every attempt
    failed = await BriefingWriter(client, model="gemini-2.5-flash", timeout_s=20).write(
        facts(), call_sid="CA" + "1" * 32
    )
    live_emulator.text.fail_next = 0
    slow = await BriefingWriter(client, model="gemini-2.5-flash", timeout_s=1e-6).write(
        facts(), call_sid="CA" + "1" * 32
    )
    none = await BriefingWriter(None, model="gemini-2.5-flash").write(facts(), call_sid="CA1")

    assert failed.source == slow.source == none.source == "template"
    assert failed.text == slow.text == none.text == template_briefing(facts())
