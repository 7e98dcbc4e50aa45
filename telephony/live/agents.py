"""Which agent serves a call, and how its live session is configured.

Agents live in the top-level ``agents`` package, one sub-package each exposing ``root_agent``.
"""

import importlib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from google.adk.agents import BaseAgent, LlmAgent, RunConfig
from google.adk.models import BaseLlm
from google.genai import types

from telephony.errors import NotConfiguredError
from telephony.live_socket import LiveGemini

_AGENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class CallRoute:
    """What the webhook decided for a call."""

    agent: str


def route_call(default_agent: str, *, to_number: str, from_number: str) -> CallRoute:
    """Pick the agent for a call. Every number reaches the default agent for now."""
    del to_number, from_number  # per-number routing plugs in here
    return CallRoute(agent=default_agent)


def load_agent(name: str, model: Callable[[str], BaseLlm] | None = None) -> BaseAgent:
    """Import ``agents.<name>.root_agent``.

    With ``model``, return a copy whose live model is ``model(<the model name it declares>)``:
    that is how credentials, or the local emulator, are put under every agent.
    """
    if not _AGENT_NAME.match(name):
        raise NotConfiguredError(f"invalid agent name {name!r}")
    try:
        module = importlib.import_module(f"agents.{name}")
    except ModuleNotFoundError as exc:
        raise NotConfiguredError(f"no agent package agents.{name}") from exc
    agent = getattr(module, "root_agent", None)
    if not isinstance(agent, BaseAgent):
        raise NotConfiguredError(f"agents.{name} has no root_agent")
    if model is not None and isinstance(agent, LlmAgent):
        declared = agent.model if isinstance(agent.model, str) else agent.canonical_model.model
        return agent.clone(update={"model": model(declared)})
    return agent


def live_run_config() -> RunConfig:
    """The RunConfig of every call: spoken replies, both transcriptions, resumable sessions."""
    return RunConfig(
        response_modalities=[types.Modality.AUDIO],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        session_resumption=types.SessionResumptionConfig(),
        # Lifts the 15-minute limit of an audio session: long calls keep going.
        context_window_compression=types.ContextWindowCompressionConfig(
            sliding_window=types.SlidingWindow(),
        ),
    )


LIVE_SOCKET_OPTIONS: dict[str, object] = {"compression": None}
"""Options for the model's WebSocket. Audio in base64 barely compresses, and per-message deflate
costs about 25 us per 20 ms frame sent and 70 us per audio message received."""


def gemini_model(
    model: str,
    *,
    api_key: str | None = None,
    vertex_project: str | None = None,
    vertex_location: str | None = None,
    base_url: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> BaseLlm:
    """A Gemini live model with explicit credentials (settings may come from ``.env``, which
    the google-genai client would not read by itself). ``base_url`` and ``ssl_context`` point it
    at another Live API server, such as the local emulator."""
    socket_options = dict(LIVE_SOCKET_OPTIONS)
    if ssl_context is not None:
        socket_options["ssl"] = ssl_context
    client: dict[str, object] = {
        "http_options": types.HttpOptions(async_client_args=socket_options)
    }
    if api_key is not None:
        client.update(api_key=api_key, vertexai=False)
    else:
        client.update(vertexai=True, project=vertex_project)
        if vertex_location:
            client["location"] = vertex_location
    return LiveGemini(model=model, base_url=base_url, client_kwargs=client)
