"""Which agent serves a call, and how its live session is configured.

Agents live in the top-level ``agents`` package, one sub-package each exposing ``root_agent``.
"""

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from google.adk.agents import BaseAgent, LlmAgent, RunConfig
from google.adk.models import BaseLlm, Gemini
from google.genai import types

from telephony.errors import NotConfiguredError

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


def gemini_model(
    model: str,
    *,
    api_key: str | None = None,
    vertex_project: str | None = None,
    vertex_location: str | None = None,
) -> BaseLlm:
    """A Gemini live model with explicit credentials (settings may come from ``.env``, which
    the google-genai client would not read by itself)."""
    if api_key is not None:
        return Gemini(model=model, client_kwargs={"api_key": api_key})
    client: dict[str, object] = {"vertexai": True, "project": vertex_project}
    if vertex_location:
        client["location"] = vertex_location
    return Gemini(model=model, client_kwargs=client)
