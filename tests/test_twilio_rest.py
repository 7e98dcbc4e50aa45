"""The product's REST client against the Twilio simulator over real HTTP."""

from __future__ import annotations

import pytest

from telephony.twilio.rest import (
    CallAlreadyEnded,
    RestClient,
    RestCredentials,
    RestError,
    rest_client_from,
)
from twins.twilio.rest import TwilioRestSim

ACCOUNT = "AC" + "1" * 32
TOKEN = "secret-token"


def test_no_credentials_means_no_client() -> None:
    assert rest_client_from(None, None, None, None, None) is None
    assert rest_client_from(ACCOUNT, None, None, None, None) is None
    assert rest_client_from(ACCOUNT, None, "SK" + "1" * 32, None, None) is None
    assert rest_client_from(ACCOUNT, TOKEN, None, None, "http://127.0.0.1:1") is not None


async def test_updating_an_unknown_call_means_already_ended() -> None:
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as sim:
        client = RestClient(RestCredentials(ACCOUNT, TOKEN), base_url=sim.url)
        assert await client.end_call("CA" + "9" * 32) is False
        with pytest.raises(CallAlreadyEnded) as raised:
            await client.update_call("CA" + "9" * 32, twiml="<Response><Hangup/></Response>")
        assert raised.value.code == 20404


async def test_wrong_credentials_are_a_rest_error_not_already_ended() -> None:
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as sim:
        client = RestClient(RestCredentials(ACCOUNT, "wrong"), base_url=sim.url)
        with pytest.raises(RestError) as raised:
            await client.end_call("CA" + "9" * 32)
        assert not isinstance(raised.value, CallAlreadyEnded)
        assert raised.value.code == 20003
