"""Local stand-ins for the two services a call needs: the Gemini Live API and Twilio."""
