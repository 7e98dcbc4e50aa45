"""A call's keypad: keys collected into entries (``keypad.py``), each handed to the agent as
one note and to the transcript as a caller turn (masked unless the route allows digits).

The inter-digit timeout runs on the event loop (``call_later``); the call presses keys from
its uplink and closes the keypad when it ends. Nothing here logs a digit.
"""

import asyncio
from collections.abc import Callable

from telephony.keypad import Entry, KeypadEntry
from telephony.routing import Keypad


class KeypadInput:
    def __init__(
        self,
        settings: Keypad,
        say: Callable[[str], None],
        note: Callable[[str], None],
        clock: Callable[[], float],
    ) -> None:
        self._entry = KeypadEntry(settings)
        self._say = say
        self._note = note
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None
        self.entries = 0

    @property
    def typing(self) -> bool:
        return self._entry.typing

    def press(self, digit: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if (entry := self._entry.press(digit, self._clock())) is not None:
            self._hand_over(entry)
        elif (deadline := self._entry.deadline()) is not None:
            delay = max(0.0, deadline - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._timed_out)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if (entry := self._entry.due(self._clock())) is not None:
            self._hand_over(entry)

    def _hand_over(self, entry: Entry) -> None:
        self.entries += 1
        self._say(entry.cue())
        shown = entry.masked if self._entry.settings.mask_in_transcript else entry.digits
        self._note(f"[keypad] {shown}" + (f" (menu: {entry.choice})" if entry.choice else ""))
