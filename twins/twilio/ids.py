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


def new_conference_sid() -> str:
    """A random conference SID (``CF`` + 32 hex digits)."""
    return _sid("CF")


def new_queue_sid() -> str:
    """A random queue SID (``QU`` + 32 hex digits)."""
    return _sid("QU")


def new_recording_sid() -> str:
    """A random recording SID (``RE`` + 32 hex digits)."""
    return _sid("RE")
