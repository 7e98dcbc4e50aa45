"""Redaction of what was said, before it is stored: `redact` masks personal data in a text.

Pure and synchronous (no database, no framework): the store applies it to every turn when the
policy is ``mask`` (``privacy``). What is masked, and what is deliberately not:

- **card numbers**: 13 to 19 digits, in groups or not, that pass the Luhn check -> ``[card]``.
  Shorter digit runs (order numbers, amounts, dates) are never cards, nor are runs that fail
  the check (a random 16-digit number passes one time in ten).
- **e-mail addresses** -> ``[email]``.
- **national-ID-like numbers**: US social security numbers written ``123-45-6789`` (or with
  spaces) and UK national insurance numbers (``QQ 12 34 56 C``) -> ``[id]``. A bare run of nine
  digits is left alone: it is as likely an order number.
- **phone numbers**: international ones (``+`` or ``00`` then 8 to 15 digits) and numbers
  written the North American way with separators (``(555) 123-4567``, ``555.123.4567``)
  -> ``[phone]``. A bare run of digits is not taken for a phone number, for the same reason.
"""

import re
from enum import StrEnum


class Redaction(StrEnum):
    """The redaction policy: store turns as said, or with personal data masked."""

    OFF = "off"
    MASK = "mask"


CARD = "[card]"
EMAIL = "[email]"
NATIONAL_ID = "[id]"
PHONE = "[phone]"

CARD_DIGITS = range(13, 20)
"""How many digits a payment card number has (ISO/IEC 7812)."""

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# Digits with at most one space or hyphen between them, not inside a longer run.
_DIGIT_RUN = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?![\w])")
_SSN = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])")
_NINO = re.compile(
    r"(?<!\w)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)", re.IGNORECASE
)
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d(?:[ .()-]{0,2}\d){7,14}(?!\w)")
_NANP_PHONE = re.compile(r"(?<![\w+])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\w)")


def redact(text: str) -> str:
    """``text`` with card numbers, e-mail addresses, national-ID-like and phone numbers
    masked (see the module docstring)."""
    text = _EMAIL.sub(EMAIL, text)
    text = _DIGIT_RUN.sub(_mask_card, text)
    text = _SSN.sub(NATIONAL_ID, text)
    text = _NINO.sub(NATIONAL_ID, text)
    text = _INTERNATIONAL_PHONE.sub(PHONE, text)
    return _NANP_PHONE.sub(PHONE, text)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (the last digit is the check digit)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if len(digits) in CARD_DIGITS and luhn_valid(digits):
        return CARD
    return match.group()
