"""Twilio's resource ids (SIDs): a two-letter prefix naming the kind, then 32 lowercase hex digits.

Every check is a full match: ``re.match`` with ``^...$`` lets ``"CA<32 hex>\\n"`` through, which
would be stored as a call of its own and would split log lines. SIDs are the only identifiers
this server logs, so a value that passes here is safe in a log line, a URL, JSON and XML.
"""

import re
from typing import Final, TypeGuard

__all__ = ["ACCOUNT_SID", "CALL_SID", "RECORDING_SID", "STREAM_SID", "SidKind"]


class SidKind:
    """The id of one kind of Twilio resource."""

    __slots__ = ("_pattern", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._pattern = re.compile(re.escape(prefix) + "[0-9a-f]{32}")

    def matches(self, value: object) -> TypeGuard[str]:
        """True only for a string that is exactly such a SID (no surrounding whitespace)."""
        return isinstance(value, str) and self._pattern.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"SidKind({self.prefix!r})"


CALL_SID: Final = SidKind("CA")
ACCOUNT_SID: Final = SidKind("AC")
STREAM_SID: Final = SidKind("MZ")
RECORDING_SID: Final = SidKind("RE")
