"""A contact centre's front desk: answers, finds out what the caller needs, and routes them."""

from agents.frontdesk.agent import root_agent

__all__ = ["root_agent"]
