"""The HTTP and WebSocket endpoints: Twilio's webhooks, the media stream, the REST API."""
