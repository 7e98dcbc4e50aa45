"""How a tool finds the call it runs in: a per-process registry of live calls' controls.

ADK runs a tool with a ``ToolContext`` whose session id is the call's CallSid (the server opens
every call's session under it). The call registers its ``CallControl`` here for its lifetime;
a tool looks it up by that id. Nothing else is shared: the session state carries what the
model may know (``telephony/routing/context.py``), the control carries what it may do.
"""

import contextlib
from collections.abc import Iterator
from typing import Protocol


class CallControl(Protocol):
    """What the toolkit's tools ask of the call they run in. Each returns the words for the
    model: what will happen, or why it cannot."""

    async def end_call(self, reason: str) -> str: ...

    async def transfer(self, target: str, reason: str, *, warm: bool) -> str: ...


_controls: dict[str, CallControl] = {}
"""Live calls of this process, by CallSid (a call lives in one process: Twilio keeps one
WebSocket per call)."""


@contextlib.contextmanager
def registered(call_sid: str, control: CallControl) -> Iterator[None]:
    """Make ``control`` the call's control while the block runs."""
    _controls[call_sid] = control
    try:
        yield
    finally:
        if _controls.get(call_sid) is control:
            del _controls[call_sid]


def control_for(call_sid: str) -> CallControl | None:
    return _controls.get(call_sid)
