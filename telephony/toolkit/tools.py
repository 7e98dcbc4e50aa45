"""The call-control tools any phone agent can include. Their signatures and docstrings are the
prompt the model sees: they say what happens on the line and what the model should do."""

from google.adk.tools.tool_context import ToolContext

from telephony.toolkit.registry import control_for

NOT_CONFIGURED = (
    "Call control is not configured on this line: you cannot transfer or end the call. Tell "
    "the caller what you can do for them yourself, or that they can call back or hang up."
)


async def end_call(reason: str, tool_context: ToolContext) -> str:
    """Ends the phone call. Say a short goodbye first: the line closes only after the caller
    has heard everything you said.

    Args:
        reason: Why the call ends, in a few words (e.g. "caller's question answered").
    """
    control = control_for(tool_context.session.id)
    if control is None:
        return NOT_CONFIGURED
    return await control.end_call(reason)


async def transfer_call(target: str, reason: str, tool_context: ToolContext) -> str:
    """Puts the caller through to a team or a person (a cold transfer: you leave the call).
    Tell the caller who you are putting them through to before you use it. If nobody answers,
    the caller comes back to you and you are told what happened.

    Args:
        target: The name of the team or person, exactly one of the transfer targets you were
            given (e.g. "billing").
        reason: Why the caller needs them, in one short sentence.
    """
    control = control_for(tool_context.session.id)
    if control is None:
        return NOT_CONFIGURED
    return await control.transfer(target, reason, warm=False)


async def warm_transfer(target: str, reason: str, tool_context: ToolContext) -> str:
    """Puts the caller through to a person after briefing them (a warm transfer): the caller
    waits with hold music, the person hears who is calling and why, then the two are joined.
    Tell the caller they will hear music for a moment. If the person does not answer or
    declines, the caller comes back to you and you are told what happened.

    Args:
        target: The name of the team or person, exactly one of the transfer targets you were
            given (e.g. "support").
        reason: Why the caller needs them, in one short sentence the person will hear.
    """
    control = control_for(tool_context.session.id)
    if control is None:
        return NOT_CONFIGURED
    return await control.transfer(target, reason, warm=True)
