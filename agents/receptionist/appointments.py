"""The clinic's appointments desk: the receptionist hands callers who want an appointment here."""

from google.adk.agents import Agent
from google.adk.tools.tool_context import ToolContext

INSTRUCTION = """You book appointment requests at Harbour Street Dental, on the telephone.
The receptionist has just handed the caller to you; do not greet them again. Speak in short,
natural sentences, one question at a time, and say times the way people say them aloud.
Ask for the caller's name, the reason for the visit and the days and times that suit them. Then
use the request_appointment tool, tell the caller the team will call back to confirm a time, and
ask whether there is anything else. For anything other than appointments, hand the caller back
to the receptionist.
"""


def request_appointment(
    caller_name: str, reason: str, preferred_times: str, tool_context: ToolContext
) -> str:
    """Notes an appointment request; the team calls the caller back to confirm a time.

    Args:
        caller_name: The caller's name as they said it.
        reason: The reason for the visit, in a short sentence (a check-up, a toothache, ...).
        preferred_times: The days and times that suit the caller, in their words.
    """
    requests = list(tool_context.state.get("appointment_requests", []))
    requests.append({"caller_name": caller_name, "reason": reason, "when": preferred_times})
    tool_context.state["appointment_requests"] = requests
    return "Request noted; the team will call back to confirm a time."


appointments_agent = Agent(
    name="appointments",
    description="Books appointment requests: takes the caller's name, reason and preferred times.",
    instruction=INSTRUCTION,
    tools=[request_appointment],
)
