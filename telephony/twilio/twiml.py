"""TwiML the server answers with (built with the twilio library, no I/O)."""

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, VoiceResponse

SAFETY_NET_MESSAGE = (
    "Sorry, we could not continue this call right now. Please call again a little later. Goodbye."
)


def connect_stream(stream_url: str, parameters: Mapping[str, str]) -> str:
    """A bidirectional media stream to ``stream_url`` carrying ``parameters``, then a safety net.

    Twilio runs what follows ``</Connect>`` only when the stream ends while the caller is still
    on the line (a model failure, say): never leave them in dead air.
    """
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    response.say(SAFETY_NET_MESSAGE)
    response.hangup()
    return str(response)
