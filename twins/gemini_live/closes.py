"""How the real Live API closes connections: WebSocket close codes and their reasons.

Google maps an RPC status to a WebSocket close code (INVALID_ARGUMENT -> 1007, PERMISSION or
NOT_FOUND -> 1008, everything server-side, quota included -> 1011) and puts the status message in
the close reason, cut to the 123 bytes a close frame can carry. The reasons below were seen on
the real service; each names where:

- 1007 "Request contains an invalid argument.": rudyll/stackchan-ai-server issue 7 (a client log).
  An expired or unknown resumption handle is refused with 1007: discuss.ai.google.dev topic
  186392 ("resumption afterwards fails with 1007"); the exact reason text there is not public.
- 1011 "You exceeded your current quota, please check your plan and billing details.": refused
  at setup (RahulMirji/Cloth_Recommendation, GEMINI_LIVE_API_FIX.md, a client log).
- 1011 "The service is currently unavailable." and "Deadline expired before operation could
  complete.": kazunori279/adk-streaming-guide issue 11. The second also ends a connection whose
  lifetime is over, after ``goAway{timeLeft: "50s"}``: kizuna-ai-lab/sokuji issue 179.
- 1011 "... RESOURCE_EXHAUSTED: Maximum concurrent se[ssions]" when the concurrent-session quota
  is full (Vertex AI): GoogleCloudPlatform/generative-ai issue 1576 (reason cut by the frame).
- 1011 "Internal error encountered.": the generic INTERNAL status message of Google APIs.
"""

from dataclasses import dataclass

INVALID_ARGUMENT = 1007
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
DROPPED = 1006
"""Not sent: the emulator drops the TCP connection without a close frame."""

INVALID_ARGUMENT_REASON = "Request contains an invalid argument."
INTERNAL_REASON = "Internal error encountered."
DEADLINE_REASON = "Deadline expired before operation could complete."
UNAVAILABLE_REASON = "The service is currently unavailable."
QUOTA_REASON = "You exceeded your current quota, please check your plan and billing details."
CONCURRENCY_REASON = (
    "Request trace id: 0f1e2d3c4b5a6978, [ORIGINAL ERROR] generic::resource_exhausted: "
    "RESOURCE_EXHAUSTED: Maximum concurrent sessions exceeded."
)
MAX_REASON_BYTES = 123
"""A close frame's reason must fit in 123 bytes of UTF-8 (RFC 6455 5.5)."""


@dataclass(frozen=True)
class Refusal:
    """A refused ``setup``: the connection closes with ``code`` and ``reason`` instead of
    ``setupComplete``."""

    code: int
    reason: str


QUOTA_EXCEEDED = Refusal(INTERNAL_ERROR, QUOTA_REASON)
UNAVAILABLE = Refusal(INTERNAL_ERROR, UNAVAILABLE_REASON)
TOO_MANY_SESSIONS = Refusal(INTERNAL_ERROR, CONCURRENCY_REASON)
BAD_HANDLE = Refusal(INVALID_ARGUMENT, INVALID_ARGUMENT_REASON)
"""An expired or unknown session resumption handle."""


def check_close_code(code: int) -> None:
    """Refuse codes a server cannot send: 1004, 1005 and 1015 may not be in a close frame;
    1006 is emulated by dropping the TCP connection."""
    if not (1000 <= code <= 1014 or 3000 <= code <= 4999) or code in (1004, 1005):
        raise ValueError(f"{code} is not a close code a server can send")


def fit_reason(reason: str) -> str:
    """``reason`` cut to what a close frame carries, on a character boundary."""
    return reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore")
