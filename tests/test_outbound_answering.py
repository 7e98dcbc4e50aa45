"""Who answered an outbound call, and what the agent does: the rules, and the listener that
holds the agent back until they decide."""

import asyncio
import dataclasses
import time

import pytest

from telephony.outbound.answering import Action, decide, on_timeout, voicemail_cue
from telephony.outbound.dialer import Dialer, OutboundCall
from telephony.outbound.listener import OutboundListener
from telephony.outbound.pacing import Pacer
from telephony.outbound.requests import OutboundRequest
from telephony.playback import AgentTurnResult
from telephony.policy import AmdRule, RoutePolicy
from telephony.twilio.rest import RestClient, RestCredentials
from twins.twilio import TwilioRestSim

POLICY = RoutePolicy()


@pytest.mark.parametrize(
    ("answered_by", "action"),
    [
        ("human", Action.GREET),
        ("machine_end_beep", Action.VOICEMAIL),
        ("machine_end_silence", Action.VOICEMAIL),
        ("machine_end_other", Action.VOICEMAIL),
        ("machine_start", Action.WAIT),
        ("fax", Action.HANG_UP),
        ("unknown", Action.GREET),
        ("something new", Action.GREET),
    ],
)
def test_each_detection_result_has_its_action(answered_by: str, action: Action) -> None:
    assert decide(answered_by, POLICY) is action


def test_the_route_decides_for_fax_unknown_and_a_slow_detection() -> None:
    policy = RoutePolicy(
        on_fax=AmdRule.VOICEMAIL, on_unknown=AmdRule.HANG_UP, on_amd_timeout=AmdRule.HANG_UP
    )
    assert decide("fax", policy) is Action.VOICEMAIL
    assert decide("unknown", policy) is Action.HANG_UP
    assert on_timeout(policy) is Action.HANG_UP
    assert on_timeout(POLICY) is Action.GREET


def test_the_voicemail_cue_carries_the_purpose_facts_and_a_number_to_read_out() -> None:
    cue = voicemail_cue("your appointment", {"time": "10:30"}, "+14155550100")
    assert "your appointment" in cue and "time: 10:30" in cue
    assert "1 4 1 5 5 5 5 0 1 0 0" in cue


@dataclasses.dataclass
class Line:
    """The call, as the listener sees it: what it was told to say, and whether it listens."""

    hold_caller_audio: bool = False
    cues: list[str] = dataclasses.field(default_factory=list)

    def cue(self, text: str) -> None:
        self.cues.append(text)


def outbound() -> OutboundCall:
    request = OutboundRequest.model_validate(
        {"to": "+14155550123", "from": "+14155550100", "purpose": "a reminder"}
    )
    return OutboundCall(id="OB1", request=request, agent="receptionist", call_sid="CA1")


def turn(heard_ms: float) -> AgentTurnResult:
    return AgentTurnResult(1, "Hello.", "Hello.", False, 0, 1000, 1000.0, heard_ms)


async def test_a_voicemail_is_left_then_the_call_hung_up_once_it_was_heard() -> None:
    line, hung_up = Line(), asyncio.Event()

    async def hang_up() -> None:
        hung_up.set()

    call = outbound()
    listener = OutboundListener(line, call, POLICY, hang_up, time.monotonic)
    assert line.hold_caller_audio and line.cues == []
    running = asyncio.create_task(listener.run())
    listener.detected("machine_start")
    await asyncio.sleep(0.05)
    assert line.cues == [], "still in the greeting"
    listener.detected("machine_end_beep")
    assert len(line.cues) == 1 and "voicemail" in line.cues[0]
    assert line.hold_caller_audio, "the machine is not a conversation"
    assert not hung_up.is_set()
    listener.agent_turn(turn(heard_ms=4000.0))
    await asyncio.wait_for(running, 5)
    assert hung_up.is_set()
    assert (call.answered_by, call.outcome) == ("machine_end_beep", "voicemail_left")


async def test_a_detection_that_never_answers_follows_the_timeout_rule() -> None:
    line = Line()

    async def hang_up() -> None:
        raise AssertionError("the rule is to greet")

    call = outbound()
    listener = OutboundListener(
        line, call, dataclasses.replace(POLICY, amd_timeout_s=0.1), hang_up, time.monotonic
    )
    await asyncio.wait_for(listener.run(), 5)
    assert not line.hold_caller_audio
    assert len(line.cues) == 1 and "just answered" in line.cues[0]
    assert (call.answered_by, call.outcome) == ("timeout", "greeted")


async def test_a_result_that_came_before_the_stream_is_acted_on_at_its_start() -> None:
    line, hung_up = Line(), asyncio.Event()

    async def hang_up() -> None:
        hung_up.set()

    call = outbound()
    call.answered_by = "fax"
    await asyncio.wait_for(OutboundListener(line, call, POLICY, hang_up, time.monotonic).run(), 5)
    assert hung_up.is_set() and line.cues == []
    assert call.outcome == "hung_up"


async def test_a_call_that_cannot_be_placed_or_never_reports_gives_its_slot_back() -> None:
    account, token = "AC" + "1" * 32, "t" * 32
    async with TwilioRestSim(account_sid=account, auth_token=token) as rest:  # nobody answers
        for base_url, expected in [("http://127.0.0.1:9", "failed"), (rest.url, "initiated")]:
            client = RestClient(RestCredentials(account, token), base_url=base_url)
            dialer = Dialer(
                client,
                Pacer(100.0, 1),
                public_url="https://x.example",
                queue_limit=5,
                slot_hold_s=0.2,
            )
            async with dialer.running():
                call = dialer.submit(outbound().request, "receptionist")
                async with asyncio.timeout(30):
                    while True:  # placed (or failed), then the slot is back
                        if call.status != "queued" and not dialer.pacer.live:
                            break
                        await asyncio.sleep(0.01)
            assert call.status == expected
            assert dialer.pacer.peak == 1 and dialer.pacer.live == 0
