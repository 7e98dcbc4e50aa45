"""Tools for phone agents: end the call, transfer it (cold or warm). Include them in an agent's
``tools``; they act on the call the agent is in (see ``registry``), after the caller has heard
what the agent said before them (Twilio's marks)."""

from telephony.toolkit.registry import CallControl, control_for, registered
from telephony.toolkit.tools import NOT_CONFIGURED, end_call, transfer_call, warm_transfer

__all__ = [
    "NOT_CONFIGURED",
    "CallControl",
    "control_for",
    "end_call",
    "registered",
    "transfer_call",
    "warm_transfer",
]
