"""HTTP plumbing of the REST simulator: credentials, form bodies, Twilio's error shape, pages.

Twilio facts mirrored (https://www.twilio.com/docs/usage/requests-to-twilio,
https://www.twilio.com/docs/api/errors):

- Requests use HTTP basic auth with the account SID and auth token, or an API key SID and its
  secret; a refusal is HTTP 401 with error 20003.
- Errors are JSON: ``{"code", "message", "more_info", "status"}``. 20404 is "the requested
  resource was not found"; 21220 "invalid call state" (updating a call that is no longer in
  progress). A client must read both as "the call has already ended".
- A list is a page: the resources under one key (``calls``, ``conferences``, ``participants``,
  ``recordings``) and the paging fields (``first_page_uri``, ``next_page_uri``, ``page``, ...).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

ERROR_AUTHENTICATE = 20003
ERROR_NOT_FOUND = 20404
ERROR_MISSING_PARAMETER = 21200
ERROR_NO_TO = 21201
ERROR_NO_FROM = 21213
ERROR_CALL_NOT_IN_PROGRESS = 21220
ERROR_TWIML_PARSE = 12100
PAGE_SIZE = 50


def check_credentials(
    request: Request, account_sid: str, auth_token: str, api_keys: Mapping[str, str]
) -> JSONResponse | None:
    """None if the request carries this account's credentials for this account, else the
    error Twilio answers with."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        username = password = ""
    secret = api_keys.get(username)
    if hmac.compare_digest(username.encode(), account_sid.encode()):
        secret = auth_token
    valid = secret is not None and hmac.compare_digest(password.encode(), secret.encode())
    if scheme.lower() != "basic" or not valid:
        return error(
            401,
            ERROR_AUTHENTICATE,
            "Authenticate",
            {"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )
    if request.path_params["account_sid"] != account_sid:
        return not_found(request)
    return None


async def form(request: Request) -> list[tuple[str, str]]:
    """The form body as name/value pairs, repeated names kept."""
    body = await request.body()
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def flag(value: str | None, default: bool) -> bool:
    """A boolean form field (``true``/``false``, any case)."""
    return default if value is None else value.strip().lower() == "true"


def error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def not_found(request: Request) -> JSONResponse:
    return error(404, ERROR_NOT_FOUND, f"The requested resource {request.url.path} was not found")


def page(request: Request, key: str, items: list[dict[str, Any]]) -> JSONResponse:
    """A one-page list (the simulator never has more than fits a page)."""
    uri = request.url.path
    first = f"{uri}?PageSize={PAGE_SIZE}&Page=0"
    return JSONResponse(
        {
            key: items,
            "first_page_uri": first,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": PAGE_SIZE,
            "start": 0,
            "end": max(0, len(items) - 1),
            "uri": first,
        }
    )
