"""``python -m telephony call``: place one simulated call against a running server."""

import asyncio
import dataclasses
import ssl
from pathlib import Path

from telephony.cli.demo import DEMO_SCRIPT, fetch_transcript
from telephony.cli.report import print_call, print_transcript
from telephony.server import configure_logging
from twins.twilio import CallConfig, SimulatedCall


def run(
    server_url: str,
    *,
    auth_token: str,
    account_sid: str | None,
    public_url: str | None,
    api_token: str | None,
    heard_wav: Path | None,
) -> int:
    configure_logging("WARNING")
    config = CallConfig(
        server_url=server_url.rstrip("/"),
        public_url=public_url,
        auth_token=auth_token,
        script=DEMO_SCRIPT,
        heard_wav=heard_wav,
        ssl_context=ssl.create_default_context() if server_url.startswith("https") else None,
    )
    if account_sid:
        config = dataclasses.replace(config, account_sid=account_sid)
    return asyncio.run(_call(config, api_token))


async def _call(config: CallConfig, api_token: str | None) -> int:
    result = await SimulatedCall(config).run()
    print_call(result)
    if api_token:
        print()
        print_transcript(await fetch_transcript(config.server_url, api_token, result.call_sid))
    return 0 if result.metrics.first_audio_ms is not None else 1
