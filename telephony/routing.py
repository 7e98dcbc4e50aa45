"""Which agent answers a call."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallRoute:
    """What the webhook decided for a call."""

    agent: str
    name: str = "default"
    """The route's name, stored with the call (the call list filters on it)."""


def route_call(default_agent: str, *, to_number: str, from_number: str) -> CallRoute:
    """Pick the agent for a call. Every number reaches the default agent for now."""
    del to_number, from_number  # per-number routing plugs in here
    return CallRoute(agent=default_agent)
