"""People the application calls with inline TwiML (a warm transfer's colleague), and the
conference status callbacks that tell the application who left: driven with the real twilio SDK
against a stand-in application."""

import asyncio
from typing import Any

import pytest
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from twins.twilio import (
    AfterStream,
    CallConfig,
    Callees,
    Conferenced,
    ConferencePlan,
    Party,
    People,
    Said,
    Silence,
    SimulatedCall,
    TwilioRestSim,
)
from twins.twilio.appstub import AppStub, StreamPlan

ACCOUNT = "AC" + "6" * 32
TOKEN = "e" * 32
TIMEOUT = 30
PERSON = "+12025550123"
BRIEFING = "A caller for support about a leaking dishwasher."
FAST = AfterStream(words_per_minute=6000, play_s=0.2)


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), TIMEOUT)


def room(name: str, **options: Any) -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.conference(name, **options)
    response.append(dial)
    response.hangup()
    return str(response)


def briefed(app: AppStub) -> str:
    response = VoiceResponse()
    response.say(BRIEFING)
    response.redirect(app.hook("join"))
    return str(response)


def stub() -> AppStub:
    app = AppStub(
        TOKEN,
        voice="",
        stream=StreamPlan(close_after_s=None),
        pages={
            "music": "<Response><Play>https://cdn.example.test/hold.mp3</Play></Response>",
            "join": room("warm-1", start_conference_on_enter=True, end_conference_on_exit=True),
        },
    )
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    app.voice = str(response)
    return app


async def test_a_person_hears_the_briefing_joins_the_waiting_caller_and_hangs_up() -> None:
    app = stub()
    callees = Callees(parties={PERSON: Party(after_s=0.2, talk_s=0.5)})
    async with (
        app.serving() as url,
        TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callees=callees) as rest,
    ):
        rest.people = People(server_url=url, public_url=app.public_url, after_stream=FAST)
        call = SimulatedCall(
            CallConfig(
                server_url=url,
                public_url=app.public_url,
                auth_token=TOKEN,
                account_sid=ACCOUNT,
                script=(Silence(60),),
                after_stream=FAST,
                callees=Callees(default_conference=ConferencePlan(joiners=())),
            )
        )
        rest.attach(call)
        client = rest.client()
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        holding = room(
            "warm-1",
            start_conference_on_enter=False,
            end_conference_on_exit=True,
            wait_url=app.hook("music"),
            status_callback=app.hook("room"),
            status_callback_event="join leave end",
        )
        await in_thread(client.calls(call.call_sid).update, twiml=holding)
        created = await in_thread(
            client.calls.create,
            to=PERSON,
            from_="+14155550100",
            twiml=briefed(app),
            status_callback=app.hook("person"),
            status_callback_event=["answered", "completed"],
        )
        person = await asyncio.wait_for(rest.person_result(created.sid), TIMEOUT)
        result = await asyncio.wait_for(running, TIMEOUT)
        await app.wait_for("/hooks/room", count=4)

    assert person.answered and person.joined and person.status == "completed"
    assert person.briefing == BRIEFING
    kinds = [type(entry).__name__ for entry in person.journey]
    assert kinds[:4] == ["Said", "Requested", "Redirected", "Conferenced"], kinds
    assert isinstance(person.journey[0], Said)
    assert person.describe().startswith(f"dialled {PERSON}: answered after ")
    assert ", joined, talked " in person.describe()
    statuses = [form["CallStatus"] for form in app.forms("/hooks/person")]
    assert statuses == ["in-progress", "completed"]
    events = [(f["StatusCallbackEvent"], f.get("CallSid")) for f in app.forms("/hooks/room")]
    assert events[:2] == [
        ("participant-join", call.call_sid),
        ("participant-join", created.sid),
    ]
    assert ("participant-leave", created.sid) in events
    assert ("participant-leave", call.call_sid) in events
    assert events[-1][0] == "conference-end"
    caller_room = [entry for entry in result.journey if isinstance(entry, Conferenced)]
    assert len(caller_room) == 1 and caller_room[0].ended == "conference-ended"
    assert caller_room[0].wait_url_requests >= 1


@pytest.mark.parametrize(
    ("party", "status"),
    [
        (Party("busy", after_s=0.1), "busy"),
        (Party("decline", after_s=0.2), "busy"),
        (Party("failed", after_s=0.1), "failed"),
        (Party("no-answer"), "no-answer"),
    ],
)
async def test_a_person_who_does_not_answer(party: Party, status: str) -> None:
    app = stub()
    async with (
        app.serving() as url,
        TwilioRestSim(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            callees=Callees(parties={PERSON: party}),
            people=People(server_url=url, public_url=app.public_url, after_stream=FAST),
        ) as rest,
    ):
        created = await in_thread(
            rest.client().calls.create,
            to=PERSON,
            from_="+14155550100",
            twiml=briefed(app),
            timeout=1,
            status_callback=app.hook("person"),
        )
        person = await asyncio.wait_for(rest.person_result(created.sid), TIMEOUT)
        fetched = await in_thread(rest.client().calls(created.sid).fetch)

    assert (person.status, person.answered, person.joined) == (status, False, False)
    assert fetched.status == status
    assert [form["CallStatus"] for form in app.forms("/hooks/person")] == [status]
    assert person.describe() == f"dialled {PERSON}: {status} after {person.rang_s:.1f} s"


async def test_a_ringing_person_is_cancelled_and_one_hangs_up_during_the_briefing() -> None:
    app = stub()
    callees = Callees(
        parties={
            PERSON: Party("no-answer"),
            "+12025550124": Party(after_s=0.1, hangs_up_after_s=0.05),
        }
    )
    slow = AfterStream(words_per_minute=60)  # the briefing lasts longer than the person stays
    async with (
        app.serving() as url,
        TwilioRestSim(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            callees=callees,
            people=People(server_url=url, public_url=app.public_url, after_stream=slow),
        ) as rest,
    ):
        client = rest.client()
        ringing = await in_thread(
            client.calls.create, to=PERSON, from_="+1", twiml=briefed(app), timeout=60
        )
        await in_thread(client.calls(ringing.sid).update, status="canceled")
        cancelled = await asyncio.wait_for(rest.person_result(ringing.sid), TIMEOUT)
        leaving = await in_thread(
            client.calls.create,
            to="+12025550124",
            from_="+1",
            twiml=briefed(app),
            status_callback=app.hook("person"),
        )
        left = await asyncio.wait_for(rest.person_result(leaving.sid), TIMEOUT)

    assert (cancelled.status, cancelled.answered) == ("canceled", False)
    assert left.answered and not left.joined and left.hung_up_by == "caller"
    assert left.briefing == BRIEFING and left.status == "completed"
    assert not app.forms("/hooks/join"), "the briefing was cut: no request to join"
    assert [form["CallStatus"] for form in app.forms("/hooks/person")] == ["completed"]
