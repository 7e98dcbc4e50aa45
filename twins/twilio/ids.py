"""Twilio resource identifiers: a two-letter prefix and 32 lowercase hex digits."""

import secrets


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def new_account_sid() -> str:
    """A random account SID (``AC`` + 32 hex digits)."""
    return _sid("AC")


def new_call_sid() -> str:
    """A random call SID (``CA`` + 32 hex digits)."""
    return _sid("CA")


def new_stream_sid() -> str:
    """A random media stream SID (``MZ`` + 32 hex digits)."""
    return _sid("MZ")
