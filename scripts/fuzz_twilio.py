"""Coverage-guided fuzzing of what the Twilio layer reads from the network (atheris).

The same contract as the property tests (``tests/test_twilio_properties.py``,
``tests/test_webhook_properties.py``), over far more inputs: whatever arrives,

- the Media Streams parser returns an event or raises ``ProtocolError``;
- a webhook body (URL-encoded, as Twilio POSTs it) parses into a form or raises
  ``ProtocolError``, and its signature check answers True or False;
- a stream token check returns a nonce or None.

Any other exception is a crash: libFuzzer stops and writes the input to ``crash-<sha1>``.
Run it (atheris is in ``requirements-dev.txt``; libFuzzer's options follow)::

    .venv/bin/python scripts/fuzz_twilio.py -max_total_time=120 -print_final_stats=1
"""

import contextlib
import sys
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import atheris
except ImportError:
    sys.exit("scripts/fuzz_twilio.py needs atheris: .venv/bin/pip install atheris")

with atheris.instrument_imports():
    from telephony.errors import ProtocolError
    from telephony.twilio.forms import parse_call_form
    from telephony.twilio.protocol import parse_inbound
    from telephony.twilio.security import SignatureChecker, StreamTokens

CALL = "CA" + "2" * 32
ACCOUNT = "AC" + "3" * 32
URL = "https://voice.example.com/twilio/voice"
_signatures = SignatureChecker("fuzzing-auth-token")
_tokens = StreamTokens(b"fuzzing-secret", ttl_s=60)


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    target = provider.ConsumeIntInRange(0, 3)
    if target == 0:  # a frame as bytes (the server decodes it)
        with contextlib.suppress(ProtocolError):
            parse_inbound(provider.ConsumeBytes(provider.remaining_bytes()))
    elif target == 1:  # a text frame
        with contextlib.suppress(ProtocolError):
            parse_inbound(provider.ConsumeUnicodeNoSurrogates(provider.remaining_bytes()))
    elif target == 2:  # a webhook's body and its signature header
        signature = provider.ConsumeUnicodeNoSurrogates(40)
        body = provider.ConsumeUnicodeNoSurrogates(provider.remaining_bytes())
        form = dict(parse_qsl(body, keep_blank_values=True))
        assert _signatures.webhook_valid(URL, form, signature) in (True, False)
        with contextlib.suppress(ProtocolError):
            parse_call_form(form)
    else:  # a stream token from a start message's parameters
        token = provider.ConsumeUnicodeNoSurrogates(provider.remaining_bytes())
        assert _tokens.verify(token, CALL, ACCOUNT) is None


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
