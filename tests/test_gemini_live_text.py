"""The Live emulator's ``generateContent``: the real google-genai client asks it for text, and
it answers deterministically from the prompt, or fails on demand as an overloaded service."""

import json

import httpx
import pytest
from google import genai
from google.genai import errors

from twins.gemini_live import LiveEmulator
from twins.gemini_live.text import summarize

MODEL = "gemini-2.5-flash"


async def test_the_client_gets_a_summary_derived_from_the_prompt(
    live_emulator: LiveEmulator,
) -> None:
    client = genai.Client(api_key="any", http_options=live_emulator.text_http_options())
    prompt = (
        '<fields_schema>{"properties": {"name": {"type": "string"}}}</fields_schema>\n'
        "Call ended: caller_hung_up\n"
        "[0.0-1.0 s] agent: Hello\n"
        "[1.0-2.0 s] caller: Could someone call me back?\n"
    )
    response = await client.aio.models.generate_content(model=MODEL, contents=prompt)
    answer = json.loads(response.text or "")
    assert answer == summarize(prompt)
    assert answer["outcome"] == "message_taken"
    assert answer["fields"] == {"name": ""}
    assert answer["follow_ups"] == ["Call the caller back"]
    assert len(live_emulator.text.requests) == 1


async def test_it_fails_on_demand_and_refuses_what_gemini_refuses(
    live_emulator: LiveEmulator,
) -> None:
    client = genai.Client(api_key="any", http_options=live_emulator.text_http_options())
    live_emulator.text.fail_next = 1
    with pytest.raises(errors.ServerError):
        await client.aio.models.generate_content(model=MODEL, contents="hello")
    response = await client.aio.models.generate_content(model=MODEL, contents="hello")
    assert json.loads(response.text or "")["outcome"] == "abandoned", "nobody called"
    verify = live_emulator.client_ssl_context()
    async with httpx.AsyncClient(base_url=live_emulator.text_base_url, verify=verify) as raw:
        path = f"/v1beta/models/{MODEL}:generateContent"
        assert (await raw.post(path, json={"contents": []})).status_code == 403, "no API key"
        keyed = {"x-goog-api-key": "any"}
        assert (await raw.post("/v1beta/other", headers=keyed)).status_code == 404
        assert (await raw.post(path, content=b"{", headers=keyed)).status_code == 400


def test_outcomes_follow_the_prompt() -> None:
    assert summarize("Call ended: transferred\n[0.0-1.0 s] caller: hi")["outcome"] == "transferred"
    assert summarize("Call ended: caller_hung_up\n[0.0-1.0 s] caller: hi")["outcome"] == "resolved"
