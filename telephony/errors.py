"""The project's exceptions, translated from library errors at the edge.

TelephonyError
 ├── ProtocolError            a peer broke the wire protocol (bad Twilio frame, ...)
 ├── SecurityError            a signature, token or account check failed
 ├── ModelUnavailableError    the Live model could not be reached or dropped (``retryable``)
 ├── StorageError             the transcript store failed
 │    └── SchemaError         the database's schema is not the one this version needs
 └── NotConfiguredError       a feature needs settings that are missing
"""


class TelephonyError(Exception):
    """Root of every error this package raises on purpose."""


class ProtocolError(TelephonyError):
    """A peer sent something the protocol does not allow."""


class SecurityError(TelephonyError):
    """A request failed authentication: signature, stream token or account."""


class ModelUnavailableError(TelephonyError):
    """The Live model session failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class StorageError(TelephonyError):
    """Reading or writing the transcript store failed."""


class SchemaError(StorageError):
    """The database's schema is not the one this version of the server needs (migrate it)."""


class NotConfiguredError(TelephonyError):
    """A feature was used without the settings it needs."""
