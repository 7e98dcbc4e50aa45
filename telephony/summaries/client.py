"""The google-genai client of text requests, with the server's own credentials."""

from google import genai

from telephony.config import Settings


def gemini_text_client(settings: Settings) -> genai.Client:
    """A client for Gemini (API key) or Vertex AI, as the settings say (not the environment)."""
    key = settings.google_api_key
    if key is not None:
        return genai.Client(api_key=key.get_secret_value(), vertexai=False)
    return genai.Client(
        vertexai=True,
        project=settings.google_cloud_project,
        location=settings.google_cloud_location,
    )
