"""The front desk of Harbour Street Dental, a fictional clinic."""

from agents.receptionist.agent import root_agent

__all__ = ["root_agent"]
