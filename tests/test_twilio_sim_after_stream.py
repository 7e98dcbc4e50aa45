"""What Twilio does once the agent's stream has ended and the caller is still on the line:
the verbs after ``</Connect>``, the ``<Connect action>``, and where they lead (say, play, pause,
redirect, dial, queue, conference, hang up), against a stand-in application over real sockets."""

import asyncio
from typing import Any

import pytest
from twilio.twiml.voice_response import Connect, Dial, Enqueue, VoiceResponse

from twins.twilio import (
    AfterStream,
    CallConfig,
    Callees,
    CallResult,
    Conferenced,
    ConferencePlan,
    Dialled,
    EndReason,
    Enqueued,
    HungUp,
    Joiner,
    Party,
    Paused,
    Played,
    QueuePlan,
    Redirected,
    Requested,
    Said,
    Silence,
    SimulatedCall,
    parse_twiml,
)
from twins.twilio.appstub import AppStub
from twins.twilio.interpreter import APPLICATION_ERROR_MESSAGE

TOKEN = "a" * 32
TIMEOUT = 30
FAST = AfterStream(words_per_minute=6000, play_s=0.05)
"""Speech at 100 words a second: the journey is the same, the test is quick."""
LISTENS = (Silence(20),)
"""The caller says nothing while the agent's stream lasts (the stub ends it)."""


def connect(app: AppStub, *, action: str | None = None) -> VoiceResponse:
    response = VoiceResponse()
    connect = Connect(action=action) if action else Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    return response


async def place(app: AppStub, **overrides: Any) -> tuple[SimulatedCall, CallResult]:
    async with app.serving() as url:
        options: dict[str, Any] = {
            "server_url": url,
            "public_url": app.public_url,
            "auth_token": TOKEN,
            "after_stream": FAST,
            "script": LISTENS,
        }
        call = SimulatedCall(CallConfig(**(options | overrides)))
        result = await asyncio.wait_for(call.run(), TIMEOUT)
    assert app.refused == 0, "every request Twilio sent was signed"
    return call, result


def kinds(result: CallResult) -> list[str]:
    return [type(entry).__name__ for entry in result.journey]


async def test_the_verbs_after_connect_run_when_the_server_closes_the_stream() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    twiml.say("Sorry, we lost you.")
    twiml.pause(length=1)
    twiml.play("https://cdn.example.test/tone.mp3", loop=2)
    twiml.hangup()
    twiml.say("never said")
    app.voice = str(twiml)

    _, result = await place(app)

    assert result.end_reason is EndReason.SERVER_CLOSED
    assert kinds(result) == ["Said", "Paused", "Played", "HungUp"]
    said, paused, played, hung_up = result.journey
    assert isinstance(said, Said) and said.text == "Sorry, we lost you."
    assert isinstance(paused, Paused) and isinstance(played, Played)
    assert played.url == "https://cdn.example.test/tone.mp3" and played.loop == 2
    assert isinstance(hung_up, HungUp) and hung_up.by == "twiml"
    assert said.t <= paused.t <= played.t <= hung_up.t, "times on the call clock, in order"
    assert result.final_status == "completed"
    assert "said 'Sorry, we lost you.'" in result.journey_lines()[0]


async def test_the_connect_action_is_requested_and_its_twiml_followed() -> None:
    after = VoiceResponse()
    after.say("Let me put you through.")
    after.redirect("/hooks/next")
    following = VoiceResponse()
    dial = Dial(action="/hooks/dialled", timeout=10, caller_id="+12025550100")
    dial.number("+12025550188")
    following.append(dial)
    goodbye = VoiceResponse()
    goodbye.say("Goodbye.")
    app = AppStub(
        TOKEN,
        voice="",
        pages={"after": str(after), "next": str(following), "dialled": str(goodbye)},
    )
    twiml = connect(app, action="/hooks/after")  # relative: resolved against the voice URL
    twiml.say("Only without an action.")
    app.voice = str(twiml)
    callees = Callees(parties={"+12025550188": Party(after_s=0.2, talk_s=0.2)})

    call, result = await place(app, callees=callees)

    assert kinds(result) == [
        "Requested",
        "Said",
        "Requested",
        "Redirected",
        "Dialled",
        "Requested",
        "Said",
        "HungUp",
    ]
    action = app.forms("/hooks/after")[0]
    assert action["CallSid"] == call.call_sid
    assert action["CallStatus"] == "in-progress"
    assert action["AccountSid"] == call.account_sid
    dialled = next(e for e in result.journey if isinstance(e, Dialled))
    assert (dialled.status, dialled.answered_by) == ("completed", "+12025550188")
    assert dialled.caller_id == "+12025550100"
    assert dialled.answered_after_s is not None
    form = app.forms("/hooks/dialled")[0]
    assert form["DialCallStatus"] == "completed"
    assert form["DialCallSid"] == dialled.dial_call_sid
    assert form["DialCallSid"].startswith("CA")
    assert form["DialBridged"] == "true"
    assert int(form["DialCallDuration"]) >= 0
    assert [e.text for e in result.journey if isinstance(e, Said)] == [
        "Let me put you through.",
        "Goodbye.",
    ]
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="end-of-twiml")
    assert [r.purpose for r in result.journey if isinstance(r, Requested)] == [
        "connect-action",
        "redirect",
        "dial-action",
    ]


@pytest.mark.parametrize(
    ("party", "status"),
    [
        (Party(outcome="busy", after_s=0.1), "busy"),
        (Party(outcome="failed", after_s=0.1), "failed"),
        (Party(outcome="decline", after_s=0.2), "busy"),
    ],
)
async def test_a_dial_nobody_answers_reports_its_status(party: Party, status: str) -> None:
    app = AppStub(TOKEN, voice="", pages={"dialled": "<Response><Say>Sorry.</Say></Response>"})
    twiml = connect(app)
    dial = Dial(action="/hooks/dialled")
    dial.number("+12025550177")
    twiml.append(dial)
    app.voice = str(twiml)

    _, result = await place(app, callees=Callees(default_party=party))

    dialled = result.journey[0]
    assert isinstance(dialled, Dialled)
    assert (dialled.status, dialled.answered_by, dialled.talked_s) == (status, None, 0.0)
    form = app.forms("/hooks/dialled")[0]
    assert (form["DialCallStatus"], form["DialBridged"]) == (status, "false")
    assert kinds(result)[-2:] == ["Said", "HungUp"]


async def test_nobody_picking_up_is_no_answer_after_the_dial_timeout() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    dial = Dial(timeout=5)  # Twilio's smallest timeout
    dial.number("+12025550166")
    twiml.append(dial)
    twiml.say("Nobody is available.")
    app.voice = str(twiml)

    _, result = await place(app, callees=Callees(default_party=Party(outcome="no-answer")))

    dialled = result.journey[0]
    assert isinstance(dialled, Dialled)
    assert dialled.status == "no-answer"
    assert dialled.timeout_s == 5
    assert kinds(result) == ["Dialled", "Said", "HungUp"]


async def test_several_targets_ring_at_once_and_the_first_to_answer_wins() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    dial = Dial()
    dial.number("+12025550155")
    dial.sip("sip:desk@pbx.example.test")
    dial.client("alice")
    twiml.append(dial)
    app.voice = str(twiml)
    callees = Callees(
        parties={
            "+12025550155": Party(after_s=0.5, talk_s=0.1),
            "sip:desk@pbx.example.test": Party(after_s=0.1, talk_s=0.1),
            "client:alice": Party(outcome="busy", after_s=0.05),
        }
    )

    _, result = await place(app, callees=callees)

    dialled = result.journey[0]
    assert isinstance(dialled, Dialled)
    assert dialled.targets == ("+12025550155", "sip:desk@pbx.example.test", "client:alice")
    assert (dialled.status, dialled.answered_by) == ("completed", "sip:desk@pbx.example.test")


async def test_an_enqueued_caller_hears_the_wait_url_and_is_bridged() -> None:
    app = AppStub(
        TOKEN,
        voice="",
        pages={
            "hold": "<Response><Say>All our agents are busy.</Say></Response>",
            "queued": "<Response><Hangup/></Response>",
        },
    )
    twiml = connect(app)
    twiml.append(Enqueue("support", wait_url="/hooks/hold", action="/hooks/queued"))
    app.voice = str(twiml)
    callees = Callees(queues={"support": QueuePlan(answered_after_s=0.3, talk_s=0.1)})

    call, result = await place(app, callees=callees)

    enqueued = result.journey[0]
    assert isinstance(enqueued, Enqueued)
    assert (enqueued.queue, enqueued.result) == ("support", "bridged")
    assert enqueued.queue_sid.startswith("QU")
    assert enqueued.wait_url_requests >= 1
    wait = app.forms("/hooks/hold")[0]
    assert (wait["QueuePosition"], wait["CurrentQueueSize"]) == ("1", "1")
    assert wait["QueueSid"] == enqueued.queue_sid
    assert wait["CallSid"] == call.call_sid
    done = app.forms("/hooks/queued")[0]
    assert (done["QueueResult"], done["QueueSid"]) == ("bridged", enqueued.queue_sid)
    assert "QueueTime" in done
    assert kinds(result)[-2:] == ["Requested", "HungUp"]
    assert "enqueued in 'support'" in enqueued.describe()


async def test_a_leave_in_the_wait_url_takes_the_caller_out_of_the_queue() -> None:
    app = AppStub(TOKEN, voice="", pages={"hold": "<Response><Leave/></Response>"})
    twiml = connect(app)
    twiml.append(Enqueue("support", wait_url="/hooks/hold"))
    twiml.say("Please call back later.")
    app.voice = str(twiml)
    callees = Callees(default_queue=QueuePlan(answered_after_s=None))

    _, result = await place(app, callees=callees)

    assert kinds(result) == ["Enqueued", "Said", "HungUp"]
    enqueued = result.journey[0]
    assert isinstance(enqueued, Enqueued) and enqueued.result == "leave"


async def test_a_conference_waits_for_its_moderator_and_ends_when_they_leave() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    dial = Dial()
    dial.conference("warm-1", start_conference_on_enter=False, wait_url="/hooks/music")
    twiml.append(dial)
    twiml.say("The conference has ended.")
    app.voice = str(twiml)
    plan = ConferencePlan(joiners=(Joiner(label="agent", after_s=0.2, stays_s=0.2),))

    call, result = await place(app, callees=Callees(conferences={"warm-1": plan}))

    assert kinds(result) == ["Conferenced", "Said", "HungUp"]
    conferenced = result.journey[0]
    assert isinstance(conferenced, Conferenced)
    assert conferenced.ended == "conference-ended"
    room = call.switchboard.conferences[conferenced.conference_sid]
    assert room.friendly_name == "warm-1"
    assert room.status == "completed"
    assert room.reason_ended == "participant-with-end-conference-on-exit-left"
    assert app.forms("/hooks/music"), "the wait music was requested while the caller waited"


async def test_the_caller_can_hang_up_after_the_agent() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    twiml.say("Please hold.", loop=0)  # forever, until someone hangs up
    app.voice = str(twiml)

    _, result = await place(app, after_stream=AfterStream(hang_up_after_s=0.3))

    assert kinds(result) == ["Said", "HungUp"]
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="caller")
    assert result.final_status == "completed"


async def test_hang_up_on_the_call_ends_whatever_runs() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    twiml.append(Enqueue("nobody-answers"))
    app.voice = str(twiml)
    callees = Callees(default_queue=QueuePlan(answered_after_s=None))

    async with app.serving() as url:
        call = SimulatedCall(
            CallConfig(
                server_url=url,
                public_url=app.public_url,
                auth_token=TOKEN,
                after_stream=FAST,
                callees=callees,
                script=LISTENS,
            )
        )
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_phase("after"), TIMEOUT)
        call.hang_up()
        result = await asyncio.wait_for(running, TIMEOUT)

    assert kinds(result) == ["Enqueued", "HungUp"]
    enqueued, hung_up = result.journey
    assert isinstance(enqueued, Enqueued) and enqueued.result == "hangup"
    assert isinstance(hung_up, HungUp) and hung_up.by == "caller"


async def test_an_action_that_answers_no_twiml_is_an_application_error() -> None:
    app = AppStub(TOKEN, voice="", pages={"after": "this is not TwiML"})
    app.voice = str(connect(app, action="/hooks/after"))

    _, result = await place(app)

    assert kinds(result) == ["Requested", "Said", "HungUp"]
    said = result.journey[1]
    assert isinstance(said, Said) and said.text == APPLICATION_ERROR_MESSAGE
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="error")


async def test_a_refused_webhook_is_an_application_error_too() -> None:
    app = AppStub(TOKEN, voice="<Response/>")

    async with app.serving() as url:
        config = CallConfig(
            server_url=url, public_url=app.public_url, auth_token="b" * 32, after_stream=FAST
        )
        result = await asyncio.wait_for(SimulatedCall(config).run(), TIMEOUT)

    assert result.end_reason is EndReason.WEBHOOK_FAILED
    assert kinds(result) == ["Said", "HungUp"]
    assert result.final_status == "completed", "answered to say the error"
    assert app.refused == 1


@pytest.mark.parametrize(("outcome", "status"), [("busy", "busy"), ("answer", "completed")])
async def test_answer_on_bridge_keeps_the_call_ringing_until_the_callee_answers(
    outcome: str, status: str
) -> None:
    app = AppStub(TOKEN, voice="<Response/>")
    twiml = VoiceResponse()
    dial = Dial(answer_on_bridge=True)
    dial.number("+12025550144")
    twiml.append(dial)
    party = Party(outcome=outcome, after_s=0.1, talk_s=0.1)  # type: ignore[arg-type]

    call, result = await place(app, twiml=str(twiml), callees=Callees(default_party=party))

    assert result.end_reason is EndReason.NO_STREAM
    assert result.final_status == status
    assert (call.answered_at is not None) is (outcome == "answer")


async def test_following_the_twiml_can_be_switched_off() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    twiml.say("Never heard.")
    app.voice = str(twiml)

    _, result = await place(app, after_stream=AfterStream(follow_twiml=False))

    assert result.journey == ()
    assert [verb.name for verb in result.next_verbs] == ["Say"]
    assert result.final_status == "completed"


async def test_new_twiml_from_a_rest_update_replaces_what_runs() -> None:
    app = AppStub(TOKEN, voice="")
    twiml = connect(app)
    twiml.say("Please hold.", loop=0)
    app.voice = str(twiml)

    async with app.serving() as url:
        config = CallConfig(
            server_url=url,
            public_url=app.public_url,
            auth_token=TOKEN,
            after_stream=FAST,
            script=LISTENS,
        )
        call = SimulatedCall(config)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_phase("after"), TIMEOUT)
        update = VoiceResponse()
        update.say("You are being transferred.")
        call.request_end(EndReason.REST_REDIRECTED, redirect=parse_twiml(str(update)))
        result = await asyncio.wait_for(running, TIMEOUT)

    assert kinds(result) == ["Said", "Redirected", "Said", "HungUp"]
    redirected = result.journey[1]
    assert isinstance(redirected, Redirected) and redirected.by == "rest"
    assert result.redirect is None, "the stream had ended before: not a transfer of the stream"
