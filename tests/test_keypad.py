"""Keypad entries: keys collected per the route's settings (pure)."""

from telephony.keypad import KeypadEntry
from telephony.routing import Keypad

MENU = Keypad(terminator="#", inter_digit_timeout_s=2.0, max_digits=4, menu={"1": "billing"})


def test_the_terminator_ends_an_entry_and_is_not_part_of_it() -> None:
    keys = KeypadEntry(MENU)
    assert [keys.press(d, t) for d, t in (("4", 0.0), ("2", 0.5))] == [None, None]
    entry = keys.press("#", 1.0)
    assert entry is not None and (entry.digits, entry.choice, entry.terminated) == (
        "42",
        None,
        True,
    )
    assert entry.masked == "**" and not keys.typing


def test_the_maximum_length_ends_an_entry() -> None:
    keys = KeypadEntry(MENU)
    entries = [keys.press(d, 0.1 * i) for i, d in enumerate("98765")]
    assert [e.digits if e else None for e in entries] == [None, None, None, "9876", None]
    assert keys.typing


def test_the_inter_digit_timeout_ends_an_entry_and_a_single_menu_key_is_a_choice() -> None:
    keys = KeypadEntry(MENU)
    assert keys.press("1", 10.0) is None
    assert keys.due(11.9) is None
    entry = keys.due(12.0)
    assert entry is not None and (entry.digits, entry.choice) == ("1", "billing")
    assert "billing" in entry.cue()
    assert keys.due(20.0) is None, "nothing typed since"


def test_without_a_terminator_the_hash_key_is_a_digit() -> None:
    keys = KeypadEntry(Keypad(terminator="", max_digits=2))
    keys.press("#", 0.0)
    entry = keys.press("5", 0.1)
    assert entry is not None and entry.digits == "#5"
