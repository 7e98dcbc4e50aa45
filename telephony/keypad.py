"""Keypad digits collected into one entry for the agent (pure, synchronous).

A caller types several keys for one answer (an account number, a menu choice). Each key is one
``dtmf`` message; an entry ends with the terminator key (``#`` by default, not part of it),
at the route's maximum length, or when no key follows within the inter-digit timeout (the
caller of ``Keypad`` asks ``due`` when that time has passed). An entry that is a single key of
the route's menu is a menu choice.

Digits are what the caller typed: they go to the model, which needs them, and never to a log.
``masked`` is how a transcript shows them unless the route allows the digits themselves.
"""

from dataclasses import dataclass

from telephony.routing import Keypad


@dataclass(frozen=True, slots=True)
class Entry:
    """What the caller typed, and the menu choice it makes (None: not a menu choice)."""

    digits: str
    choice: str | None
    terminated: bool

    @property
    def masked(self) -> str:
        return "*" * len(self.digits)

    def cue(self) -> str:
        """The note for the agent."""
        if self.choice is not None:
            return (
                f"[On the phone keypad the caller pressed {self.digits}: the menu option for "
                f"{self.choice}.]"
            )
        return f"[On the phone keypad the caller typed: {self.digits or '(nothing)'}.]"


class KeypadEntry:
    """The keys of the entry being typed on one call."""

    def __init__(self, settings: Keypad) -> None:
        self.settings = settings
        self._digits: list[str] = []
        self._last_s: float | None = None

    @property
    def typing(self) -> bool:
        return bool(self._digits)

    def deadline(self) -> float | None:
        """When the entry ends if no key follows (None: nothing typed)."""
        if self._last_s is None:
            return None
        return self._last_s + self.settings.inter_digit_timeout_s

    def press(self, digit: str, now_s: float) -> Entry | None:
        """A key; returns the entry it completes, if it does."""
        terminator = self.settings.terminator
        if terminator and digit == terminator:
            return self._complete(terminated=True)
        self._digits.append(digit)
        self._last_s = now_s
        if len(self._digits) >= self.settings.max_digits:
            return self._complete(terminated=False)
        return None

    def due(self, now_s: float) -> Entry | None:
        """The entry, if the inter-digit timeout has passed since the last key."""
        deadline = self.deadline()
        if deadline is None or now_s < deadline:
            return None
        return self._complete(terminated=False)

    def _complete(self, *, terminated: bool) -> Entry:
        digits = "".join(self._digits)
        self._digits.clear()
        self._last_s = None
        choice = self.settings.menu.get(digits) if len(digits) == 1 else None
        return Entry(digits, choice, terminated)
