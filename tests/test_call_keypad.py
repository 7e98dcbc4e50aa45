"""The keypad end to end: a route's menu works while the agent speaks (its audio is cleared),
entries end at the inter-digit timeout, and the route decides whether digits are masked."""

from pathlib import Path

from telephony.transcripts import Speaker
from tests.callserver import running_server
from twins.twilio import Dtmf, Silence

DESK = "+14155550100"
ROUTES = f"""\
[[route]]
name = "desk"
numbers = ["{DESK}"]
[route.keypad]
inter_digit_timeout_s = 1.5
mask = false
menu = {{ "1" = "billing", "2" = "support" }}
"""


async def test_a_menu_key_while_the_agent_speaks_stops_it_and_reaches_it(
    tmp_path: Path, database_url: str
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)
    async with running_server(database_url, routes_file=routes) as server:
        server.emulator.script.next_reply(words=80)  # a long greeting to press over
        result = await server.place(
            [Silence(4.0), Dtmf("1"), Silence(3.0), Dtmf("5", gap_ms=100), Dtmf("55"), Silence(3)],
            to_number=DESK,
        )
        transcript = await server.finished_transcript(result.call_sid)
        texts = [t.text for t in server.emulator.record.last.texts if "keypad" in t.text]

    assert result.metrics.clears_received >= 1, "the key cut the greeting short"
    greeting = transcript.turns[0]
    assert greeting.speaker is Speaker.AGENT and greeting.interrupted
    assert transcript.turns[1].text.startswith("[keypad]"), "nothing of the greeting after it"
    assert texts == [
        "[On the phone keypad the caller pressed 1: the menu option for billing.]",
        "[On the phone keypad the caller typed: 555.]",
    ]
    keyed = [t.text for t in transcript.turns if t.text.startswith("[keypad]")]
    assert keyed == ["[keypad] 1 (menu: billing)", "[keypad] 555"], "this route shows digits"
    assert result.metrics.violations == 0
