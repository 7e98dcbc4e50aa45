"""``python -m telephony dial +1...``: ask a running server to place an outbound call.

The server checks and queues the call (``POST /calls``); this prints its id and status, then
follows it until Twilio reports a final status (``--no-wait`` returns at once).
"""

import asyncio
import json
from typing import Any

import httpx

FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
POLL_S = 0.5


def parse_variables(pairs: list[str]) -> dict[str, str]:
    """``["patient=Sam Lee", "time=10:30"]`` -> a dict; ``ValueError`` for a pair without ``=``."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--var takes name=value, got {pair!r}")
        found[name.strip()] = value
    return found


def run(
    server_url: str,
    *,
    api_token: str | None,
    to: str,
    from_number: str | None,
    agent: str | None,
    purpose: str,
    variables: list[str],
    wait: bool,
) -> int:
    if not api_token:
        print("dial: the server's API token is needed (--api-token or API_TOKEN)")
        return 2
    if not from_number:
        print("dial: which of our numbers to call from (--from or OUTBOUND_FROM_NUMBERS)")
        return 2
    try:
        body: dict[str, Any] = {
            "to": to,
            "from": from_number,
            "purpose": purpose,
            "variables": parse_variables(variables),
        }
    except ValueError as exc:
        print(f"dial: {exc}")
        return 2
    if agent:
        body["agent"] = agent
    return asyncio.run(_dial(server_url.rstrip("/"), api_token, body, wait))


async def _dial(server_url: str, api_token: str, body: dict[str, Any], wait: bool) -> int:
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers, timeout=10) as client:
        answer = await client.post("/calls", json=body)
        if answer.status_code != 202:
            print(f"dial: refused ({answer.status_code}): {_detail(answer)}")
            return 1
        call: dict[str, Any] = answer.json()
        print(f"outbound call {call['id']}: {call['status']}")
        last = call["status"]
        while wait and last not in FINAL:
            await asyncio.sleep(POLL_S)
            call = (await client.get(f"/outbound/{call['id']}")).json()
            if call["status"] != last:
                last = call["status"]
                print(f"outbound call {call['id']}: {last} (call {call['call_sid']})")
        if wait:
            print(f"answered by: {call['answered_by']}; the agent: {call['outcome']}")
    return 0 if last != "failed" else 1


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail"))
    except (json.JSONDecodeError, AttributeError):
        return answer.text
