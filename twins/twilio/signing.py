"""Twilio's request signature, computed the way Twilio computes it.

The signature is ``base64(HMAC-SHA1(auth token, URL + name1 + value1 + name2 + value2 ...))`` with
the POST parameters sorted by name (and by value for a repeated name). The URL is the one Twilio
was configured with, exactly: scheme, host, port, path and query as written. A WebSocket upgrade
is signed over the stream URL with no parameters.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Twilio-Signature"

Params = Mapping[str, str] | Iterable[tuple[str, str]]
"""Form parameters: a mapping, or name/value pairs when a name repeats."""


def param_pairs(params: Params) -> list[tuple[str, str]]:
    """The parameters as a list of name/value pairs, in their given order."""
    if isinstance(params, Mapping):
        return [(str(name), str(value)) for name, value in params.items()]
    return [(str(name), str(value)) for name, value in params]


def signing_payload(url: str, params: Params = ()) -> str:
    """The string Twilio signs: the URL followed by every name and value, sorted."""
    return url + "".join(name + value for name, value in sorted(set(param_pairs(params))))


def twilio_signature(auth_token: str, url: str, params: Params = ()) -> str:
    """The ``X-Twilio-Signature`` header value for a request to ``url`` with form ``params``."""
    digest = hmac.new(
        auth_token.encode("utf-8"), signing_payload(url, params).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")
