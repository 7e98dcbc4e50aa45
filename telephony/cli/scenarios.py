"""``python -m telephony demo --scenario NAME``: a contact-centre scenario, offline, end to end.

The real server runs on loopback with the front-desk route of ``ROUTES`` and the local Live API
emulator as its model; the Twilio simulator places the call, serves the REST API the server's
call control uses and runs the TwiML after the agent (dials, queues), with callees that answer
or not. The emulator is scripted to call the agent's tools. Printed: what the caller went
through after the agent (the simulator's journey) and the stored transcript.

- ``transfer``: the caller asks for billing; the agent says so and transfers (cold); billing
  answers after 2.1 s and talks; the call ends.
- ``transfer-unanswered``: the same, but billing does not answer: the caller is back with the
  agent, who says so.
- ``keypad``: the caller presses 1 over the greeting (the menu: billing), then types an
  account number ending with #.
- ``silence``: the caller says nothing; the agent asks twice whether they are there, then says
  goodbye and the call ends.
- ``warm-transfer``: the caller's dishwasher still leaks; the agent warm-transfers them to
  support: the caller waits on hold music while support is dialled, answers after 2.1 s, hears
  a briefing written from the conversation, then joins the caller and talks; the call ends.
"""

import asyncio
import secrets
from pathlib import Path
from typing import Any

from telephony.app import create_app
from telephony.cli.demo import ACCOUNT_SID, fetch_transcript, offline_settings
from telephony.cli.report import print_transcript
from telephony.server import bind, configure_logging, serve_in_process
from twins.gemini_live import LiveEmulator
from twins.twilio import (
    CallConfig,
    Callees,
    CallResult,
    ConferencePlan,
    Dtmf,
    Hangup,
    Party,
    People,
    PersonCall,
    Silence,
    SimulatedCall,
    Speak,
    Step,
    TwilioRestSim,
    WaitForGreeting,
    WaitForReply,
)

DESK = "+14155550100"
BILLING = "+14155550111"
SUPPORT = "+14155550122"
ROUTES = f"""\
[[route]]
name = "acme"
numbers = ["{DESK}"]
agent = "frontdesk"
business_name = "Acme Appliances"
voice = "Puck"
[route.targets.billing]
number = "{BILLING}"
timeout_s = 8
[route.targets.support]
number = "{SUPPORT}"
timeout_s = 15
[route.keypad]
inter_digit_timeout_s = 2
menu = {{ "1" = "billing" }}
[route.silence]
reprompt_after_s = 4
max_reprompts = 2
"""


def run(scenario: str, out_dir: Path) -> int:
    configure_logging("WARNING")
    out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_scenario(scenario, out_dir))


def _plan(scenario: str) -> tuple[list[Step], Callees | None, list[Step]]:
    """The caller's script, who answers a dial, and the script on a return to the agent."""
    talk: list[Step] = [WaitForGreeting(timeout=20), Speak(1.5, seed=1), Silence(60)]
    if scenario == "transfer":
        return talk, Callees(parties={BILLING: Party(after_s=2.1, talk_s=3.0)}), []
    if scenario == "transfer-unanswered":
        back: list[Step] = [WaitForGreeting(timeout=30), Speak(1.2, seed=2)]
        back += [WaitForReply(timeout=30), Hangup()]
        return talk, Callees(parties={BILLING: Party("no-answer")}), back
    if scenario == "warm-transfer":
        waiting = Callees(default_conference=ConferencePlan(joiners=()))  # support is dialled
        return talk, waiting, []
    if scenario == "keypad":
        keys: list[Step] = [Silence(1.5), Dtmf("1"), Silence(3.0), WaitForReply(timeout=30)]
        return [*keys, Dtmf("40213#"), WaitForReply(timeout=30), Hangup()], None, []
    return [WaitForGreeting(timeout=20), Silence(90)], None, []


async def _act(scenario: str, emulator: LiveEmulator) -> None:
    """What the model says and does: a greeting for the business; in the transfer scenarios,
    once the greeting is done, the caller's question is answered with a transfer."""
    script = emulator.script
    script.next_reply("Acme Appliances, how can I help you today?")
    if not scenario.startswith(("transfer", "warm")):
        return
    await emulator.record.wait_for(
        lambda record: bool(record.connections) and record.last.turns_completed >= 1, timeout=60
    )
    if scenario == "warm-transfer":
        script.next_transcription("My dishwasher still leaks after last week's repair.")
        reason = "a dishwasher that still leaks after a repair"
        script.call_tool("warm_transfer", {"target": "support", "reason": reason})
        script.next_reply(
            "I am sorry to hear that. You will hear some music while I brief a colleague in "
            "support."
        )
        return
    script.next_transcription("Hi, I have a question about my last invoice.")
    script.call_tool(
        "transfer_call", {"target": "billing", "reason": "a question about an invoice"}
    )
    script.next_reply("Of course, I am putting you through to billing now.")


async def _scenario(scenario: str, out_dir: Path) -> int:
    auth_token, api_token = secrets.token_hex(16), secrets.token_urlsafe(24)
    routes = out_dir / "routes.toml"
    routes.write_text(ROUTES)
    sock = bind()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    script, callees, back = _plan(scenario)
    support = Callees(parties={SUPPORT: Party(after_s=2.1, talk_s=5.0)})
    async with TwilioRestSim(
        account_sid=ACCOUNT_SID, auth_token=auth_token, callees=support
    ) as sim:
        sim.people = People(server_url=base_url)  # whom the server dials with inline TwiML
        settings = offline_settings(
            base_url,
            auth_token,
            api_token,
            out_dir / f"{scenario}.db",
            twilio_api_base_url=sim.url,
            routes_file=routes,
        )
        app = create_app(settings)
        print(f"Scenario {scenario}: server on {base_url}, offline (the Live emulator answers).")
        async with serve_in_process(app, sock):
            emulator = app.state.services.emulator
            assert isinstance(emulator, LiveEmulator)
            options: dict[str, Any] = {"return_script": tuple(back)}
            if callees is not None:
                options["callees"] = callees
            call = SimulatedCall(
                CallConfig(
                    server_url=base_url,
                    auth_token=auth_token,
                    account_sid=ACCOUNT_SID,
                    to_number=DESK,
                    script=tuple(script),
                    **options,
                )
            )
            sim.attach(call)
            acting = asyncio.create_task(_act(scenario, emulator))
            running = asyncio.create_task(call.run())
            await acting
            result = await asyncio.wait_for(running, 180)
            people = await asyncio.gather(*sim.state.people_calls.values())
            transcript = await fetch_transcript(base_url, api_token, result.call_sid, wait_s=10)
    print()
    _print_journey(result)
    _print_people(people)
    print()
    print_transcript(transcript)
    return 0 if transcript["call"]["end_reason"] else 1


def _print_journey(result: CallResult) -> None:
    print(f"What the caller went through after the agent's stream ({result.final_status}):")
    if not result.journey:
        print("  (nothing: the call ended on the stream)")
    for entry in result.journey:
        print(f"  {entry.describe()}")


def _print_people(people: list[PersonCall]) -> None:
    for person in people:
        print(f"What the person went through: {person.describe()}")
        if person.briefing is not None:
            print(f"  heard: {person.briefing!r}")
