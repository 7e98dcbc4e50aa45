"""The routing file: what it means, and that every mistake names its line."""

import datetime as dt

import pytest

from telephony.routing import RoutingFileError, parse_routes
from telephony.routing.context import CallerContext, session_state
from telephony.twilio.destinations import Kind

GOOD = """\
[default]
agent = "receptionist"

[[route]]
name = "sales"
numbers = ["+14155550100"]
agent = "frontdesk"
voice = "Puck"
language = "en-US"
business_name = "Acme"
greeting = "The call has connected. Greet the caller for Acme sales."

[route.targets.billing]
number = "+14155550111"
timeout_s = 15
[route.targets.support]
queue = "support"
[route.targets.desk]
sip = "sip:desk@example.com"

[route.hours]
timezone = "America/New_York"
monday = "09:00-12:00, 13:00-17:00"
tuesday = "09:00-17:00"

[route.after_hours]
say = "We are closed."
target = "support"

[route.fallback]
say = "Sorry, one moment."
target = "billing"

[route.keypad]
terminator = "#"
max_digits = 8
menu = { "1" = "billing", "2" = "support" }

[[route]]
name = "sales-uk"
numbers = ["+14155550100"]
caller_prefix = "+44"
agent = "receptionist"
share_caller_number = true
"""

MONDAY_10_NY = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
MONDAY_1230_NY = dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.UTC)


def test_a_routing_file_routes_by_number_and_caller_prefix() -> None:
    table = parse_routes(GOOD, "receptionist")
    sales = table.decide(to_number="+14155550100", from_number="+12025550123", now=MONDAY_10_NY)
    assert (sales.route.name, sales.agent, sales.after_hours) == ("sales", "frontdesk", False)
    assert sales.route.voice == "Puck" and sales.route.language == "en-US"
    assert sales.route.targets["billing"].kind is Kind.NUMBER
    assert sales.route.targets["billing"].timeout_s == 15
    assert sales.route.fallback.destination == sales.route.targets["billing"]
    assert dict(sales.route.keypad.menu) == {"1": "billing", "2": "support"}

    uk = table.decide(to_number="+14155550100", from_number="+447700900123", now=MONDAY_10_NY)
    assert uk.route.name == "sales-uk" and uk.agent == "receptionist"
    other = table.decide(to_number="+14155550199", from_number="+12025550123", now=MONDAY_10_NY)
    assert other.route is table.default and other.agent == "receptionist"


def test_opening_hours_in_the_routes_time_zone() -> None:
    table = parse_routes(GOOD, "receptionist")
    lunch = table.decide(to_number="+14155550100", from_number="+1202", now=MONDAY_1230_NY)
    assert lunch.after_hours
    assert lunch.route.after_hours is not None
    assert "<Enqueue>support</Enqueue>" in lunch.route.after_hours.twiml()
    sunday = MONDAY_10_NY - dt.timedelta(days=1)
    assert table.decide(to_number="+14155550100", from_number="+1", now=sunday).after_hours


def test_the_session_state_shares_the_number_only_where_the_route_allows() -> None:
    table = parse_routes(GOOD, "receptionist")
    caller = CallerContext(pseudonym="caller-x", direction="inbound", number="+447700900123")
    sales = table.decide(to_number="+14155550100", from_number="+1202", now=MONDAY_10_NY)
    state = session_state(sales, caller)
    assert state["caller_number"] == ""
    assert state["transfer_targets"] == ["billing", "desk", "support"]
    assert state["business_name"] == "Acme"
    uk = table.decide(to_number="+14155550100", from_number="+4477", now=MONDAY_10_NY)
    assert session_state(uk, caller)["caller_number"] == "+447700900123"


def test_without_routes_every_number_reaches_the_default_agent() -> None:
    table = parse_routes("", "receptionist")
    decision = table.decide(to_number="+1", from_number="+2", now=MONDAY_10_NY)
    assert decision.agent == "receptionist" and not decision.after_hours


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_broken('numbers = ["+14155550100"]', 'numbers = ["555 0100"]'), ":6: route 'sales'"),
        (_broken('voice = "Puck"', 'voice = "P uck"'), ":8: route 'sales': voice"),
        (_broken('number = "+14155550111"', 'number = "0111"'), ":14: route 'sales'"),
        (
            _broken('target = "support"', 'target = "nobody"'),
            ":28: route 'sales': after_hours.target",
        ),
        (_broken('"America/New_York"', '"Mars/Olympus"'), ":22: route 'sales': hours.timezone"),
        (_broken('"09:00-17:00"', '"9-5"'), ":24: route 'sales': hours.tuesday"),
        (_broken("max_digits = 8", "max_digits = 0"), ":36: route 'sales': keypad.max_digits"),
        (_broken('name = "sales-uk"', 'name = "sales"'), ":40: route 'sales': name"),
        (
            _broken('caller_prefix = "+44"', "caller_prefix = 44"),
            ":42: route 'sales-uk': caller_prefix",
        ),
        (_broken("share_caller_number", "share_number"), ":44: route 'sales-uk': share_number"),
        (_broken('target = "billing"', 'target = "x"'), ":32: route 'sales': fallback.target"),
        (_broken("timeout_s = 15", "timeout_s = 1"), ":15: route 'sales': targets.billing"),
        (_broken("[route.hours]", "[route.hours"), "not valid TOML"),
    ],
)
def test_a_bad_routing_file_names_the_line_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(RoutingFileError) as error:
        parse_routes(text, "receptionist", source="routes.toml")
    message = str(error.value)
    assert message.startswith("routes.toml")
    assert expected in message, message
