"""A route's own recording, outbound and summary options: read from the routing file (every
mistake named by its line), merged over the deployment's settings where they are used."""

from typing import Any

import pytest
from pydantic import SecretStr

from telephony.config import Settings
from telephony.errors import NotConfiguredError
from telephony.policy import AmdRule, policy_for, policy_from
from telephony.routing import RecordingOptions, RoutingFileError, parse_routes
from telephony.summaries import SummaryPlan, summary_plans

OPTIONS = """\
[default]
agent = "receptionist"

[[route]]
name = "clinic"
numbers = ["+14155550200"]

[route.recording]
heard = true
consent = "This call is recorded for training."
digits_quiet_s = 5

[route.outbound]
callback_number = "+14155550299"
on_fax = "voicemail"
amd_timeout_s = 12

[route.summary]
webhook_url = "https://crm.example.com/clinic"
[route.summary.fields_schema]
type = "object"
properties.appointment = { type = "string" }
properties.urgent = { type = "boolean" }

[[route]]
name = "shop"
numbers = ["+14155550300"]

[[route]]
name = "shop-uk"
numbers = ["+14155550300"]
caller_prefix = "+44"
[route.recording]
consent = ""
"""


def settings(**values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        twilio_validate_signatures=False,
        database_url="sqlite+aiosqlite://",
        **values,
    )


def test_a_route_overrides_only_the_options_it_sets() -> None:
    table = parse_routes(OPTIONS, "receptionist")
    clinic, shop, shop_uk = table.routes
    deployment = settings(
        record_twilio=True, recording_consent="Calls are recorded.", amd_timeout_s=6
    )

    assert clinic.recording == RecordingOptions(
        record_heard=True,
        consent_announcement="This call is recorded for training.",
        digits_quiet_s=5.0,
    )
    policy = policy_for(clinic, deployment)
    assert (policy.record_heard, policy.record_twilio) == (True, True)
    assert policy.announcement == "This call is recorded for training."
    assert (policy.digits_quiet_s, policy.pause_on_digits) == (5.0, True)
    assert policy.callback_number == "+14155550299"
    assert (policy.on_fax, policy.on_unknown, policy.amd_timeout_s) == (
        AmdRule.VOICEMAIL,
        AmdRule.GREET,
        12.0,
    )
    assert policy_for(shop, deployment) == policy_from(deployment), "no tables: the settings"
    assert policy_for(table.default, deployment) == policy_from(deployment)
    uk = policy_for(shop_uk, deployment)
    assert uk.record_twilio and uk.announcement is None, '"" says no announcement'


def test_an_outbound_call_takes_the_route_of_its_from_number() -> None:
    table = parse_routes(OPTIONS, "receptionist")
    assert table.calling_from("+14155550200").name == "clinic"
    assert table.calling_from("+14155550300").name == "shop", "the route without a prefix"
    assert table.calling_from("+14155550999") is table.default


def test_summaries_use_the_routes_schema_and_webhook_else_the_settings() -> None:
    table = parse_routes(OPTIONS, "receptionist")
    plans = summary_plans(
        settings(
            summary_fields_schema='{"properties": {"reason": {"type": "string"}}}',
            summary_webhook_url="https://crm.example.com/all",
            summary_webhook_secret=SecretStr("whsec"),
        ),
        table,
    )
    clinic = plans.for_route("clinic")
    assert clinic.webhook is not None and clinic.webhook.url == "https://crm.example.com/clinic"
    assert clinic.fields_schema is not None
    assert set(clinic.fields_schema["properties"]) == {"appointment", "urgent"}
    for name in ("shop", "default", None, "a-route-since-removed"):
        plan = plans.for_route(name)
        assert plan.webhook is not None and plan.webhook.url == "https://crm.example.com/all"
        assert plan.fields_schema == {"properties": {"reason": {"type": "string"}}}

    stored_only = summary_plans(settings(summary_webhook_secret=SecretStr("whsec")), table)
    assert stored_only.for_route("shop") == SummaryPlan(None, None)
    with pytest.raises(NotConfiguredError, match="route 'clinic': webhook_url"):
        summary_plans(settings(), table)  # a route's webhook, and nothing to sign with


def _broken(old: str, new: str) -> str:
    assert old in OPTIONS
    return OPTIONS.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_broken("heard = true", 'heard = "yes"'), ":9: route 'clinic': recording.heard"),
        (_broken("heard = true", "hear = true"), ":9: route 'clinic': recording.hear: unknown"),
        (_broken("digits_quiet_s = 5", "digits_quiet_s = 0"), ":11: route 'clinic': recording."),
        (_broken('consent = "This', "consent = 3 #"), ":10: route 'clinic': recording.consent"),
        (
            _broken('callback_number = "+14155550299"', 'callback_number = "0299"'),
            ":14: route 'clinic': outbound.callback_number",
        ),
        (
            _broken('on_fax = "voicemail"', 'on_fax = "beep"'),
            ":15: route 'clinic': outbound.on_fax: 'beep': use one of \"greet\"",
        ),
        (_broken("amd_timeout_s = 12", "amd_timeout_s = -1"), ":16: route 'clinic': outbound."),
        (
            _broken('"https://crm.example.com/clinic"', '"crm.example.com"'),
            ":19: route 'clinic': summary.webhook_url",
        ),
        (_broken('type = "object"', 'type = "array"'), ":21: route 'clinic': summary.fields"),
        (
            _broken('properties.urgent = { type = "boolean" }', 'properties.urgent = "boolean"'),
            ":23: route 'clinic': summary.fields_schema.properties.urgent",
        ),
        (_broken('consent = ""', "consent = false"), ":34: route 'shop-uk': recording.consent"),
        (_broken("[route.outbound]", "[route.dialling]"), ":13: route 'clinic': dialling"),
    ],
)
def test_a_bad_option_names_the_line_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(RoutingFileError) as error:
        parse_routes(text, "receptionist", source="routes.toml")
    message = str(error.value)
    assert message.startswith("routes.toml:")
    assert expected in message, message
