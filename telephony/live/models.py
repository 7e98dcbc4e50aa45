"""The live model every agent of a call runs on, and the RunConfig of every call."""

import contextlib
import ssl
import time
from collections.abc import AsyncIterator

from google.adk.agents import RunConfig
from google.adk.models import BaseLlm, Gemini
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.genai import types

from telephony.live.link import current_link

LIVE_SOCKET_OPTIONS: dict[str, object] = {"compression": None}
"""Options for the model's WebSocket. Audio in base64 barely compresses, and per-message deflate
costs about 25 us per 20 ms frame sent and 70 us per audio message received."""


class LiveGemini(Gemini):
    """ADK's Gemini model, handing each live connection to the call's ``ModelLink``."""

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest) -> AsyncIterator[BaseLlmConnection]:
        link = current_link()
        began = time.monotonic()
        # google-genai returns the session once the server has answered the setup.
        async with super().connect(llm_request) as connection:
            if link is not None:
                link.attach(connection, time.monotonic() - began)
            try:
                yield connection
            finally:
                if link is not None:
                    await link.detach(connection)


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


def voiced_run_config(base: RunConfig, voice: str | None, language: str | None) -> RunConfig:
    """``base`` with the route's voice and language (``speech_config``); ``base`` itself when
    the route names neither."""
    if voice is None and language is None:
        return base
    voice_config = (
        types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice))
        if voice is not None
        else None
    )
    speech = types.SpeechConfig(voice_config=voice_config, language_code=language)
    return base.model_copy(update={"speech_config": speech})
