"""WebSocket close codes (RFC 6455 §7.4.1) the server sends or reads, by name."""

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    """The call ended as calls end: a hang-up, a transfer, the agent's goodbye."""
    POLICY_VIOLATION = 1008
    """The peer broke a rule: bad signature, token or account, too many bad messages."""
    INTERNAL_ERROR = 1011
    """Something on our side failed (the model, a bug). The Live API uses it the same way."""
    TRY_AGAIN_LATER = 1013
    """The Live API is overloaded: trying again later may work."""
