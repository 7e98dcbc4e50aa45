"""Offline mode: the local Live API emulator stands in for Gemini.

The only product module that uses the twins, and only when the app starts without Gemini
credentials: with credentials, nothing of the twins (or their TLS tooling) is imported.
"""

import contextlib
import logging
from typing import TYPE_CHECKING

from google.adk.models import BaseLlm

from telephony.live.agents import LiveModel
from telephony.live.models import gemini_model

if TYPE_CHECKING:
    from google import genai

logger = logging.getLogger(__name__)


async def start_emulator(
    stack: contextlib.AsyncExitStack, model_override: str | None
) -> tuple[LiveModel, object]:
    """Start the emulator for the life of ``stack``; return the live model pointed at it."""
    from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator

    emulator = await stack.enter_async_context(LiveEmulator())
    logger.warning(
        "OFFLINE: no Gemini credentials (GOOGLE_API_KEY or Vertex AI settings); "
        "calls are answered by the local Live API emulator at %s",
        emulator.base_url,
    )
    context = emulator.client_ssl_context()

    def emulated(declared: str) -> BaseLlm:
        return gemini_model(
            model_override or declared,
            api_key=DEFAULT_API_KEY,
            base_url=emulator.base_url,
            ssl_context=context,
        )

    return emulated, emulator


def text_client(emulator: object) -> "genai.Client":
    """A google-genai client whose text requests (summaries) the running emulator answers."""
    from google import genai

    from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator

    assert isinstance(emulator, LiveEmulator)
    return genai.Client(api_key=DEFAULT_API_KEY, http_options=emulator.text_http_options())
