"""Answer Twilio phone calls with a Google ADK agent on the Gemini Live API."""
