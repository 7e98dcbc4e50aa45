"""A warm transfer through a conference, driven with the real twilio SDK: the caller waits on
hold in the room, a person is dialled in as a participant, participants are held, muted and
removed, and ending the conference sends the caller on with the rest of their TwiML."""

import asyncio
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from twins.twilio import (
    AfterStream,
    CallConfig,
    Callees,
    Conferenced,
    ConferencePlan,
    Party,
    Silence,
    SimulatedCall,
    TwilioRestSim,
)
from twins.twilio.appstub import AppStub, StreamPlan
from twins.twilio.conference import Conference, Participant

ACCOUNT = "AC" + "6" * 32
TOKEN = "f" * 32
TIMEOUT = 30
AGENT = "+12025550199"


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), TIMEOUT)


def hold_in_conference(name: str, wait_url: str) -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.conference(name, start_conference_on_enter=False, wait_url=wait_url)
    response.append(dial)
    response.say("Thank you, goodbye.")
    return str(response)


async def test_a_warm_transfer_through_a_conference() -> None:
    app = AppStub(
        TOKEN,
        voice="",
        stream=StreamPlan(close_after_s=None),
        pages={"music": "<Response><Play>https://cdn.example.test/hold.mp3</Play></Response>"},
    )
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    app.voice = str(response)
    people = Callees(parties={AGENT: Party(after_s=0.2, talk_s=600)})
    async with (
        app.serving() as url,
        TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callees=people) as rest,
    ):
        call = SimulatedCall(
            CallConfig(
                server_url=url,
                public_url=app.public_url,
                auth_token=TOKEN,
                account_sid=ACCOUNT,
                script=(Silence(60),),
                after_stream=AfterStream(words_per_minute=6000, play_s=0.2),
                callees=Callees(default_conference=ConferencePlan(joiners=())),
            )
        )
        rest.attach(call)
        client = rest.client()
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)

        # The agent's tool moves the caller into a conference, on hold...
        holding = hold_in_conference("warm-7", app.hook("music"))
        await in_thread(client.calls(call.call_sid).update, twiml=holding)
        room = await asyncio.wait_for(rest.switchboard.wait_conference("warm-7"), TIMEOUT)
        [listed] = await in_thread(client.conferences.list, friendly_name="warm-7")
        assert (listed.sid, listed.status) == (room.sid, "init")

        # ... and dials the person in, who starts the conference by answering.
        added = await in_thread(
            client.conferences(room.sid).participants.create,
            from_="+12025550123",
            to=AGENT,
            label="agent",
            end_conference_on_exit=False,
        )
        assert (added.status, added.label) == ("queued", "agent")
        assert added.call_sid.startswith("CA")
        await asyncio.wait_for(room.started.wait(), TIMEOUT)
        assert (await in_thread(client.conferences(room.sid).fetch)).status == "in-progress"

        participants = await in_thread(client.conferences(room.sid).participants.list)
        assert {p.call_sid for p in participants} == {call.call_sid, added.call_sid}
        assert {p.status for p in participants} == {"connected"}

        held = await in_thread(
            client.conferences(room.sid).participants(call.call_sid).update, hold=True
        )
        assert held.hold is True
        muted = await in_thread(
            client.conferences(room.sid).participants("agent").update, muted=True
        )
        assert (muted.call_sid, muted.muted) == (added.call_sid, True)
        on_hold = await in_thread(client.conferences(room.sid).participants.list, hold=True)
        assert [p.call_sid for p in on_hold] == [call.call_sid]
        await in_thread(client.conferences(room.sid).participants(call.call_sid).update, hold=False)

        # The agent drops out; then the conference is ended for the caller too.
        assert await in_thread(client.conferences(room.sid).participants("agent").delete)
        with pytest.raises(TwilioRestException) as error:
            await in_thread(client.conferences(room.sid).participants("agent").fetch)
        assert error.value.code == 20404
        await in_thread(client.conferences(room.sid).update, status="completed")
        result = await asyncio.wait_for(running, TIMEOUT)
        ended = await in_thread(client.conferences(room.sid).fetch)

    assert (ended.status, ended.reason_conference_ended) == (
        "completed",
        "conference-ended-via-api",
    )
    assert [type(e).__name__ for e in result.journey] == [
        "Redirected",
        "Conferenced",
        "Said",
        "HungUp",
    ]
    conferenced = result.journey[1]
    assert isinstance(conferenced, Conferenced)
    assert (conferenced.name, conferenced.ended) == ("warm-7", "conference-ended")
    assert 0 < conferenced.waited_s < conferenced.duration_s
    assert app.forms("/hooks/music"), "the caller heard the wait music"
    assert [change[1] for change in room.participants[call.call_sid].hold_changes] == [
        True,
        False,
    ]
    assert app.refused == 0


async def test_dialling_someone_into_a_new_conference_by_name() -> None:
    busy = Callees(default_party=Party(outcome="busy", after_s=0.05))
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callees=busy) as rest:
        client = rest.client()
        added = await in_thread(
            client.conferences("standup").participants.create, from_="+1202555", to="+1202556"
        )
        room = rest.switchboard.conference("standup")
        assert room is not None and added.conference_sid == room.sid
        await asyncio.wait_for(room.participants[added.call_sid].left.wait(), TIMEOUT)
        assert room.participants[added.call_sid].status == "failed"
        assert await in_thread(client.conferences(room.sid).participants.list) == []
        with pytest.raises(TwilioRestException) as error:
            await in_thread(client.conferences("CF" + "0" * 32).participants("x").fetch)
        assert error.value.code == 20404


def test_a_conference_ends_with_its_last_participant_or_with_its_moderator() -> None:
    room = Conference("CF" + "1" * 32, ACCOUNT, "room")
    caller = Participant("CA" + "1" * 32, start_conference_on_enter=False)
    room.join(caller)
    before = room.status
    agent = Participant("CA" + "2" * 32, label="agent")
    room.join(agent)
    assert (before, room.status) == ("init", "in-progress"), "the caller alone does not start it"
    room.leave(agent.call_sid, "removed")
    assert (room.status, agent.status, agent.left_because) == ("in-progress", "complete", "removed")
    room.leave(caller.call_sid, "hung-up")
    assert (room.status, room.reason_ended) == ("completed", "last-participant-left")

    other = Conference("CF" + "2" * 32, ACCOUNT, "other")
    moderator = Participant("CA" + "3" * 32, end_conference_on_exit=True)
    guest = Participant("CA" + "4" * 32)
    other.join(moderator)
    other.join(guest)
    other.leave(moderator.call_sid, "removed")
    assert other.reason_ended == "participant-with-end-conference-on-exit-kicked"
    assert other.call_sid_ending == moderator.call_sid
    assert (guest.status, guest.left_because) == ("complete", "conference-ended")
    assert guest.left.is_set()
