"""Signatures checked as Twilio computes them; stream tokens single-use, bound and short-lived."""

from twilio.request_validator import RequestValidator

from telephony.twilio.security import SignatureChecker, StreamTokens, pseudonym

TOKEN = "0123456789abcdef0123456789abcdef"
CALL = "CA" + "a" * 32
OTHER_CALL = "CA" + "b" * 32
ACCOUNT = "AC" + "c" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sign(url: str, params: dict[str, str]) -> str:
    signature: str = RequestValidator(TOKEN).compute_signature(url, params)
    return signature


def test_webhook_signature_must_match_url_and_every_parameter() -> None:
    checker = SignatureChecker(TOKEN)
    url = "https://voice.example.com/twilio/voice"
    form = {"CallSid": CALL, "From": "+15550100", "To": "+15550199"}
    signature = sign(url, form)
    assert checker.webhook_valid(url, form, signature)
    assert not checker.webhook_valid(url.replace("https", "http"), form, signature)
    assert not checker.webhook_valid(url + "/", form, signature)
    assert not checker.webhook_valid(url, {**form, "From": "+15550101"}, signature)
    assert not checker.webhook_valid(url, form, None)
    assert not checker.webhook_valid(url, form, sign(url, form)[:-2] + "==")


def test_upgrade_signature_accepts_the_url_with_or_without_a_trailing_slash() -> None:
    checker = SignatureChecker(TOKEN)
    url = "wss://voice.example.com/twilio/media"
    assert checker.upgrade_valid(url, sign(url, {}))
    assert checker.upgrade_valid(url, sign(url + "/", {}))
    assert not checker.upgrade_valid(url, sign("wss://evil.example.com/twilio/media", {}))
    assert not checker.upgrade_valid(url, "")


def test_stream_token_is_good_once_for_its_call_and_account() -> None:
    tokens = StreamTokens(b"secret", ttl_s=60)
    token = tokens.mint(CALL, ACCOUNT)
    assert not tokens.redeem(token, OTHER_CALL, ACCOUNT)
    assert not tokens.redeem(token, CALL, "AC" + "d" * 32)
    assert tokens.redeem(token, CALL, ACCOUNT)
    assert not tokens.redeem(token, CALL, ACCOUNT), "a token is single-use"


def test_a_token_minted_by_one_worker_is_good_at_another() -> None:
    """Workers share the auth token, not memory: the webhook and the stream may hit either."""
    webhook_worker, stream_worker = StreamTokens(b"auth", ttl_s=60), StreamTokens(b"auth", ttl_s=60)
    token = webhook_worker.mint(CALL, ACCOUNT)
    assert stream_worker.redeem(token, CALL, ACCOUNT)


def test_stream_token_expires() -> None:
    clock = FakeClock()
    tokens = StreamTokens(b"secret", ttl_s=60, clock=clock)
    token = tokens.mint(CALL, ACCOUNT)
    clock.now += 62
    assert not tokens.redeem(token, CALL, ACCOUNT)


def test_stream_token_carries_at_least_128_random_bits_and_resists_tampering() -> None:
    tokens = StreamTokens(b"secret", ttl_s=60)
    first, second = tokens.mint(CALL, ACCOUNT), tokens.mint(CALL, ACCOUNT)
    assert first != second
    version, expires, nonce, mac = first.split(".")
    assert len(nonce) >= 22  # 16 bytes in unpadded base64
    forged = f"{version}.{int(expires) + 3600}.{nonce}.{mac}"
    assert not tokens.redeem(forged, CALL, ACCOUNT)
    assert not StreamTokens(b"other secret", ttl_s=60).redeem(first, CALL, ACCOUNT)
    for garbage in ("", "v1", "v1.x.y.z", "v2." + first[3:]):
        assert not tokens.redeem(garbage, CALL, ACCOUNT)


def test_pseudonym_is_stable_keyed_and_hides_the_number() -> None:
    number = "+15550100"
    assert pseudonym(b"k", number) == pseudonym(b"k", number)
    assert pseudonym(b"k", number) != pseudonym(b"other", number)
    assert "5550100" not in pseudonym(b"k", number)
