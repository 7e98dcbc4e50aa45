"""A receptionist who answers the phone for Harbour Street Dental (a fictional clinic)."""

from datetime import date

from google.adk.agents import Agent
from google.adk.tools.tool_context import ToolContext

from agents.receptionist.appointments import appointments_agent

CLINIC = "Harbour Street Dental"
DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"

_HOURS = {
    "monday": "8 am to 6 pm",
    "tuesday": "8 am to 6 pm",
    "wednesday": "8 am to 6 pm",
    "thursday": "8 am to 8 pm",
    "friday": "8 am to 4 pm",
    "saturday": "9 am to 1 pm",
    "sunday": "closed",
}

INSTRUCTION = f"""You answer the telephone at {CLINIC}, a family dental clinic at 14 Harbour Street.
You are talking to a caller on a phone line, so:
- Speak in short, natural sentences. One idea at a time. Never use lists, markdown or emoji.
- Say numbers, times and dates the way a person says them aloud.
- If the caller interrupts you, stop and listen; do not repeat what you already said.
- When the call connects you receive a note that it started: greet the caller warmly, give the
  clinic's name and ask how you can help.

You can tell callers the opening hours (use the opening_hours tool). A caller who wants an
appointment goes to the appointments desk (transfer them to the appointments agent). Take a
message for the team (use the take_message tool) when they want a call back or anything you
cannot do yourself. Before taking a message, ask for their name and the reason for the call;
confirm back what you noted. Never give medical advice: for pain or an emergency out of hours,
tell them to call the emergency dental line on 0 1 2 3 4 5 6 7 8 9, or 911 if it is serious.
"""


def opening_hours(day: str) -> str:
    """Returns the clinic's opening hours on a day of the week.

    Args:
        day: A day of the week such as "monday", or "today".
    """
    key = day.strip().lower()
    if key == "today":
        key = date.today().strftime("%A").lower()
    hours = _HOURS.get(key)
    if hours is None:
        return f"I only know the hours by day of the week, not for {day!r}."
    return (
        f"On {key.capitalize()} the clinic is {hours}."
        if hours != "closed"
        else (f"The clinic is closed on {key.capitalize()}.")
    )


def take_message(caller_name: str, reason: str, tool_context: ToolContext) -> str:
    """Notes a message for the clinic team, who will call the caller back.

    Args:
        caller_name: The caller's name as they said it.
        reason: Why they called, in a short sentence.
    """
    messages = list(tool_context.state.get("messages", []))
    messages.append({"caller_name": caller_name, "reason": reason})
    tool_context.state["messages"] = messages
    return "Message noted; the team will call back on the number the caller is calling from."


root_agent = Agent(
    name="receptionist",
    model=DEFAULT_MODEL,
    description=f"Front desk of {CLINIC}: opening hours and messages for the team.",
    instruction=INSTRUCTION,
    tools=[opening_hours, take_message],
    sub_agents=[appointments_agent],
)
