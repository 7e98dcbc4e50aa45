"""The google-genai client of text requests, with the server's own credentials."""

from google import genai
from google.genai import types

from telephony.config import Settings


def gemini_text_client(settings: Settings) -> genai.Client:
    """A client for Gemini (API key) or Vertex AI, as the settings say (not the environment);
    with ``SUMMARY_BASE_URL``, its requests go there."""
    key = settings.google_api_key
    if key is not None:
        options = (
            None
            if settings.summary_base_url is None
            else types.HttpOptions(base_url=settings.summary_base_url)
        )
        return genai.Client(api_key=key.get_secret_value(), vertexai=False, http_options=options)
    return genai.Client(
        vertexai=True,
        project=settings.google_cloud_project,
        location=settings.google_cloud_location,
    )
