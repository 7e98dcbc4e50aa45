"""Reading a route's ``[route.recording]``, ``[route.outbound]`` and ``[route.summary]``
tables (``options``), checked like the rest of the routing file::

    [route.recording]
    heard = true                    # the server's recording of what the caller heard
    twilio = false                  # Twilio's recording
    consent = "This call is recorded."   # "" for none
    pause_on_digits = true
    digits_quiet_s = 3

    [route.outbound]                # calls placed from one of the route's numbers
    callback_number = "+14155550100"
    on_fax = "hang_up"              # greet, voicemail or hang_up
    on_unknown = "greet"
    amd_timeout_s = 8
    on_amd_timeout = "greet"

    [route.summary]
    webhook_url = "https://crm.example.com/hooks/calls"
    [route.summary.fields_schema]   # a JSON schema, written as TOML
    type = "object"
    properties.order_number = { type = "string" }

A key left out keeps the deployment's setting; ``fail(key, problem)`` makes the error that
names the key's line.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from telephony.routing.options import AmdRule, OutboundOptions, RecordingOptions, SummaryOptions
from telephony.routing.routes import E164

Fail = Callable[[str, str], Exception]

_RECORDING_KEYS = {
    "heard": "record_heard",
    "twilio": "record_twilio",
    "consent": "consent_announcement",
    "pause_on_digits": "pause_on_digits",
    "digits_quiet_s": "digits_quiet_s",
}
_RULE_VALUES = tuple(rule.value for rule in AmdRule)
_RULES = ", ".join(f'"{value}"' for value in _RULE_VALUES)


def recording_options(raw: object, fail: Fail) -> RecordingOptions:
    table = _table(raw, "recording", set(_RECORDING_KEYS), fail)
    values: dict[str, Any] = {}
    for key in ("heard", "twilio", "pause_on_digits"):
        values[_RECORDING_KEYS[key]] = _flag(table, key, "recording", fail)
    consent = table.get("consent")
    if consent is not None and not isinstance(consent, str):
        raise fail("recording.consent", 'must be the words to say, or "" for none')
    values["consent_announcement"] = consent
    values["digits_quiet_s"] = _seconds(table, "digits_quiet_s", "recording", fail)
    return RecordingOptions(**values)


def outbound_options(raw: object, fail: Fail) -> OutboundOptions:
    keys = {"callback_number", "on_fax", "on_unknown", "amd_timeout_s", "on_amd_timeout"}
    table = _table(raw, "outbound", keys, fail)
    number = table.get("callback_number")
    if number is not None and (not isinstance(number, str) or not E164.fullmatch(number)):
        raise fail("outbound.callback_number", f"{number!r} is not an E.164 number")
    rules: dict[str, AmdRule | None] = {}
    for key in ("on_fax", "on_unknown", "on_amd_timeout"):
        value = table.get(key)
        if value is not None and value not in _RULE_VALUES:
            raise fail(f"outbound.{key}", f"{value!r}: use one of {_RULES}")
        rules[key] = None if value is None else AmdRule(value)
    return OutboundOptions(
        callback_number=number,
        amd_timeout_s=_seconds(table, "amd_timeout_s", "outbound", fail),
        **rules,
    )


def summary_options(raw: object, fail: Fail) -> SummaryOptions:
    table = _table(raw, "summary", {"fields_schema", "webhook_url"}, fail)
    url = table.get("webhook_url")
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
            raise fail("summary.webhook_url", f"{url!r} is not an http(s) URL")
    schema = table.get("fields_schema")
    if schema is not None:
        if not isinstance(schema, dict):
            raise fail("summary.fields_schema", "must be a table: a JSON schema of the fields")
        if schema.get("type", "object") != "object":
            raise fail("summary.fields_schema.type", 'the fields are an object: "object"')
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise fail("summary.fields_schema.properties", "must be a table of field = {schema}")
        for name, spec in properties.items():
            if not isinstance(spec, dict):
                raise fail(
                    f"summary.fields_schema.properties.{name}",
                    'must be the field\'s schema, e.g. { type = "string" }',
                )
    return SummaryOptions(fields_schema=schema, webhook_url=url)


def _table(raw: object, name: str, keys: set[str], fail: Fail) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise fail(name, "must be a table")
    unknown = set(raw) - keys
    if unknown:
        raise fail(f"{name}.{sorted(unknown)[0]}", "unknown key")
    return raw


def _flag(table: dict[str, Any], key: str, name: str, fail: Fail) -> bool | None:
    value = table.get(key)
    if value is not None and not isinstance(value, bool):
        raise fail(f"{name}.{key}", "must be true or false")
    return value


def _seconds(table: dict[str, Any], key: str, name: str, fail: Fail) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail(f"{name}.{key}", "must be a positive number of seconds")
    return float(value)
