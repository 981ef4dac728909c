"""Authentication: API keys, HS256 JWTs and a trusted gateway; one opaque refusal, a precise log detail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timezone

import pytest

from shared.auth.authenticator import (
    AUTH_REQUIRED,
    INVALID_CREDENTIALS,
    WWW_AUTHENTICATE,
    Authenticator,
    Principal,
    encode_jwt,
    hash_api_key,
)
from shared.errors import ConfigError, Unauthenticated

NOW = datetime(2025, 3, 4, 5, 0, 0, tzinfo=timezone.utc)
T = int(NOW.timestamp())
SECRET = "current-jwt-secret-0123456789abcdef"
OLD_SECRET = "previous-jwt-secret-fedcba9876543210"
OTHER_SECRET = "somebody-elses-secret-000000000000000"
ISSUER = "https://issuer.example"
AUDIENCE = "presign"
ALICE_KEY = "ak_alice_9f8e7d6c5b4a39281706"
BOB_KEY = "ak_bob_0a1b2c3d4e5f60718293"
SHA_ALICE = hashlib.sha256(ALICE_KEY.encode()).hexdigest()
SHA_BOB = hashlib.sha256(BOB_KEY.encode()).hexdigest()
GOOD = {"sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "exp": T + 300, "iat": T - 10}
HS256 = {"alg": "HS256", "typ": "JWT"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(document: object) -> str:
    return b64(json.dumps(document).encode())


def mint_raw(payload: bytes, *, header: object = HS256, secret: str = SECRET) -> str:
    """Build and sign a token by hand, independently of the module: any header, any payload bytes."""
    signing_input = f"{segment(header)}.{b64(payload)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def mint(claims: object = GOOD, *, header: object = HS256, secret: str = SECRET) -> str:
    return mint_raw(json.dumps(claims).encode(), header=header, secret=secret)


DROP = object()  # a claim to leave out


def with_claims(**changes: object) -> str:
    claims = {**GOOD, **changes}
    return mint({name: value for name, value in claims.items() if value is not DROP})


def authenticator(**overrides: object) -> Authenticator:
    settings: dict[str, object] = {
        "api_keys": f"alice:{SHA_ALICE},bob:{SHA_BOB.upper()}", "jwt_secrets": f"{SECRET}, {OLD_SECRET}",
        "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "trust_gateway": False, "gateway_header": None,
    }
    settings.update(overrides)
    return Authenticator.from_settings(**settings)  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def refusal(auth: Authenticator, headers: Mapping[str, str]) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(headers, now=NOW)
    return caught.value


# -- known answers -----------------------------------------------------------------------------------

def test_encode_jwt_matches_the_jwt_io_example() -> None:
    token = encode_jwt({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}, "your-256-bit-secret")
    assert token == ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
                     "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


RFC7515_KEY = base64.urlsafe_b64decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Y"
                                       "j0iPS4hcgUuTwjAzZr1Z9CAow==")
RFC7515_TOKEN = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
                 "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")


def test_rfc7515_a1_signature_verifies_and_only_the_missing_sub_is_refused() -> None:
    auth = Authenticator(jwt_secrets=[RFC7515_KEY], jwt_issuer="joe")
    at = datetime.fromtimestamp(1300819380 - 100, timezone.utc)
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(bearer(RFC7515_TOKEN), now=at)
    assert caught.value.detail == "sub claim missing or not a valid principal name"
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(bearer(RFC7515_TOKEN[:-1] + "A"), now=at)
    assert caught.value.detail == "bad signature"


def test_hash_api_key_is_sha256_hex() -> None:
    assert hash_api_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("key", ["", "has space", "tab\tkey", "ключ", "x" * 1025], ids=[
    "empty", "space", "control", "non-ascii", "too-long"])
def test_hash_api_key_refuses_keys_no_request_could_present(key: str) -> None:
    with pytest.raises(ValueError):
        hash_api_key(key)


# -- who gets in ---------------------------------------------------------------------------------------

ACCEPTED = {
    "api-key": ({"x-api-key": ALICE_KEY}, Principal("alice", "api_key")),
    "api-key-hash-configured-upper-case": ({"x-api-key": BOB_KEY}, Principal("bob", "api_key")),
    "api-key-wins-over-bearer": ({"x-api-key": ALICE_KEY, **bearer(mint())}, Principal("alice", "api_key")),
    "jwt-current-secret": (bearer(mint()), Principal("carol", "jwt")),
    "jwt-previous-secret-rotation": (bearer(mint(secret=OLD_SECRET)), Principal("carol", "jwt")),
    "jwt-encode_jwt": (bearer(encode_jwt(GOOD, SECRET)), Principal("carol", "jwt")),
    "jwt-lower-case-scheme": ({"authorization": f"bearer {mint()}"}, Principal("carol", "jwt")),
    "jwt-audience-list": (bearer(with_claims(aud=["other", AUDIENCE])), Principal("carol", "jwt")),
    "jwt-prefix-claim": (bearer(with_claims(prefix="users/carol/")), Principal("carol", "jwt", "users/carol/")),
    "jwt-float-times": (bearer(with_claims(exp=T + 0.5, iat=T - 0.5)), Principal("carol", "jwt")),
    "jwt-no-iat-no-nbf": (bearer(with_claims(iat=DROP)), Principal("carol", "jwt")),
    "jwt-extra-header-fields": (bearer(mint(header={**HS256, "kid": "2025-03"})), Principal("carol", "jwt")),
    "exp-59s-ago-within-leeway": (bearer(with_claims(exp=T - 59)), Principal("carol", "jwt")),
    "nbf-exactly-60s-ahead": (bearer(with_claims(nbf=T + 60)), Principal("carol", "jwt")),
    "iat-exactly-60s-ahead": (bearer(with_claims(iat=T + 60)), Principal("carol", "jwt")),
}


@pytest.mark.parametrize(("headers", "expected"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted(headers: dict[str, str], expected: Principal) -> None:
    assert authenticator().authenticate(headers, now=NOW) == expected


def test_gateway_principal_is_trusted_when_configured() -> None:
    auth = authenticator(trust_gateway=True, gateway_header="X-Authenticated-User")
    assert auth.authenticate({"x-authenticated-user": "dave@example.com"}, now=NOW) == Principal(
        "dave@example.com", "gateway")


def test_gateway_header_is_ignored_when_trust_is_off() -> None:
    auth = authenticator(trust_gateway=False, gateway_header="X-Authenticated-User")
    error = refusal(auth, {"x-authenticated-user": "dave"})
    assert (error.message, error.detail) == (AUTH_REQUIRED, "no credentials presented")


def test_a_token_of_exactly_8_kib_is_accepted() -> None:
    token = next(t for n in range(5900, 6200) if len(t := with_claims(pad="x" * n)) == 8192)
    assert authenticator().authenticate(bearer(token), now=NOW).name == "carol"


# -- who does not ----------------------------------------------------------------------------------------

def _flip_unused_bits(token: str) -> str:
    """Same signature bytes, another spelling: the last character's two unused bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]


HEADER, PAYLOAD, SIGNATURE = mint().split(".")
NOT_UTF8 = b64(b'{"alg":"HS256","typ":"\xff"}')
REFUSED_TOKENS: dict[str, tuple[str, str]] = {
    "tampered-header": (f"{segment({**HS256, 'kid': 'x'})}.{PAYLOAD}.{SIGNATURE}", "bad signature"),
    "tampered-payload": (f"{HEADER}.{segment({**GOOD, 'sub': 'admin'})}.{SIGNATURE}", "bad signature"),
    "tampered-signature": (f"{HEADER}.{PAYLOAD}.{'B' if SIGNATURE[0] == 'A' else 'A'}{SIGNATURE[1:]}",
                           "bad signature"),
    "signature-non-canonical-bits": (_flip_unused_bits(mint()), "bad signature"),
    "signature-truncated": (f"{HEADER}.{PAYLOAD}.{SIGNATURE[:-4]}", "bad signature"),
    "signature-empty": (f"{HEADER}.{PAYLOAD}.", "bad signature"),
    "unknown-secret": (mint(secret=OTHER_SECRET), "bad signature"),
    "signature-padded": (f"{HEADER}.{PAYLOAD}.{SIGNATURE}=", "bad signature"),
    "expired-61s": (with_claims(exp=T - 61), "token expired"),
    "expired-exactly-at-leeway": (with_claims(exp=T - 60), "token expired"),
    "nbf-61s-ahead": (with_claims(nbf=T + 61), "not yet valid"),
    "iat-61s-ahead": (with_claims(iat=T + 61), "issued in the future"),
    "wrong-issuer": (with_claims(iss="https://evil.example"), "wrong issuer"),
    "issuer-missing": (with_claims(iss=DROP), "iss claim missing"),
    "wrong-audience-string": (with_claims(aud="other"), "wrong audience"),
    "wrong-audience-list": (with_claims(aud=["other", "another"]), "wrong audience"),
    "audience-empty-list": (with_claims(aud=[]), "wrong audience"),
    "audience-number": (with_claims(aud=7), "wrong audience"),
    "audience-missing": (with_claims(aud=DROP), "aud claim missing"),
    "alg-none": (f"{segment({'alg': 'none'})}.{PAYLOAD}.", "alg not allowed"),
    "alg-none-signed": (mint(header={"alg": "none", "typ": "JWT"}), "alg not allowed"),
    "alg-HS512": (mint(header={"alg": "HS512"}), "alg not allowed"),
    "alg-RS256": (mint(header={"alg": "RS256"}), "alg not allowed"),
    "alg-lower-case": (mint(header={"alg": "hs256"}), "alg not allowed"),
    "alg-list": (mint(header={"alg": ["HS256"]}), "alg not allowed"),
    "alg-missing": (mint(header={"typ": "JWT"}), "alg missing"),
    "crit-header": (mint(header={**HS256, "crit": ["exp"]}), "crit header not supported"),
    "exp-missing": (with_claims(exp=DROP), "exp claim missing"),
    "exp-string": (with_claims(exp=str(T + 300)), "exp claim is not a number"),
    "exp-bool": (with_claims(exp=True), "exp claim is not a number"),
    "exp-null": (with_claims(exp=None), "exp claim is not a number"),
    "exp-infinite": (mint_raw(b'{"sub": "carol", "exp": 1e400}'), "exp claim is not a number"),
    "exp-nan": (mint_raw(b'{"sub": "carol", "exp": NaN}'), "exp claim is not a number"),
    "nbf-string": (with_claims(nbf="0"), "nbf claim is not a number"),
    "iat-string": (with_claims(iat="0"), "iat claim is not a number"),
    "sub-missing": (with_claims(sub=DROP), "sub claim missing"),
    "sub-empty": (with_claims(sub=""), "sub claim missing"),
    "sub-number": (with_claims(sub=42), "sub claim missing"),
    "sub-wildcard": (with_claims(sub="*"), "sub claim missing"),
    "sub-newline": (with_claims(sub="carol\nadmin"), "sub claim missing"),
    "prefix-number": (with_claims(prefix=3), "prefix claim"),
    "prefix-empty": (with_claims(prefix=""), "prefix claim"),
    "prefix-null": (with_claims(prefix=None), "prefix claim"),
    "header-not-json": (f"{b64(b'{alg')}.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-json-array": (f"{segment(['HS256'])}.{PAYLOAD}.{SIGNATURE}", "header is not a JSON object"),
    "header-deeply-nested": (f"{b64(b'[' * 5000)}.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-not-utf8": (f"{NOT_UTF8}.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-padded": (f"{HEADER}=.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-standard-alphabet": (f"{HEADER[:-1]}+.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-length-1-mod-4": (f"AAAAA.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "header-empty": (f".{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "whitespace-inside": (f"{HEADER[:5]} {HEADER[5:]}.{PAYLOAD}.{SIGNATURE}", "malformed token header"),
    "non-ascii": (f"{HEADER}.{PAYLOAD}é.{SIGNATURE}", "token is not ASCII"),
    "payload-not-json": (mint_raw(b"{sub: carol}"), "malformed token payload"),
    "payload-json-array": (mint_raw(b'["carol"]'), "payload is not a JSON object"),
    "payload-not-utf8": (mint_raw(b'{"sub": "\xff"}'), "malformed token payload"),
    "empty": ("", "empty bearer token"),
    "two-segments": (f"{HEADER}.{PAYLOAD}", "2 segments"),
    "four-segments": (f"{HEADER}.{PAYLOAD}.{SIGNATURE}.{SIGNATURE}", "4 segments"),
    "jwe-five-segments": (".".join([HEADER, "", PAYLOAD, PAYLOAD, SIGNATURE]), "5 segments"),
    "one-segment": ("opaque-token-not-a-jwt", "1 segments"),
    "oversized": (with_claims(pad="x" * 8200), "token over 8 KiB"),
}


@pytest.mark.parametrize(("token", "detail"), REFUSED_TOKENS.values(), ids=REFUSED_TOKENS.keys())
def test_refused_token(token: str, detail: str) -> None:
    error = refusal(authenticator(), bearer(token))
    assert error.message == INVALID_CREDENTIALS
    assert detail in (error.detail or "")
    _assert_nothing_secret(error, token, SECRET, OLD_SECRET)


def test_every_single_character_change_is_refused() -> None:
    auth, token = authenticator(), mint()
    for index, char in enumerate(token):
        for replacement in {"A", "B", "-", "."} - {char}:
            changed = token[:index] + replacement + token[index + 1:]
            with pytest.raises(Unauthenticated):
                auth.authenticate(bearer(changed), now=NOW)


def test_a_token_for_a_named_audience_is_refused_when_none_is_configured() -> None:
    error = refusal(authenticator(jwt_audience=None), bearer(mint()))
    assert error.detail == "token names an audience but PRESIGN_JWT_AUDIENCE is not set"


def test_issuer_and_audience_are_not_required_when_not_configured() -> None:
    token = with_claims(iss=DROP, aud=DROP)
    auth = authenticator(jwt_issuer=None, jwt_audience=None)
    assert auth.authenticate(bearer(token), now=NOW).name == "carol"


def test_a_secret_removed_from_the_rotation_list_no_longer_verifies() -> None:
    error = refusal(authenticator(jwt_secrets=SECRET), bearer(mint(secret=OLD_SECRET)))
    assert error.detail == "bad signature"


API_KEY_REFUSALS = {
    "unknown": (ALICE_KEY + "x", "unknown api key"),
    "other-case": (ALICE_KEY.upper(), "unknown api key"),
    "the-hash-itself": (SHA_ALICE, "unknown api key"),
    "empty": ("", "malformed api key"),
    "space": ("ak alice", "malformed api key"),
    "non-ascii": ("ak_alicé", "malformed api key"),
    "newline": ("ak_alice\n", "malformed api key"),
    "too-long": ("k" * 1025, "malformed api key"),
}


@pytest.mark.parametrize(("key", "detail"), API_KEY_REFUSALS.values(), ids=API_KEY_REFUSALS.keys())
def test_refused_api_key(key: str, detail: str) -> None:
    error = refusal(authenticator(), {"x-api-key": key})
    assert (error.message, error.detail) == (INVALID_CREDENTIALS, detail)
    _assert_nothing_secret(error, key, SHA_ALICE, SHA_BOB)


def test_a_revoked_api_key_is_refused() -> None:
    auth = authenticator(api_keys=f"alice:{SHA_ALICE}")  # bob's entry removed
    assert refusal(auth, {"x-api-key": BOB_KEY}).detail == "unknown api key"
    assert auth.authenticate({"x-api-key": ALICE_KEY}, now=NOW).name == "alice"


def test_one_principal_may_hold_several_keys() -> None:
    auth = authenticator(api_keys=f"alice:{SHA_ALICE},alice:{SHA_BOB}")
    assert {auth.authenticate({"x-api-key": key}, now=NOW).name for key in (ALICE_KEY, BOB_KEY)} == {"alice"}


def test_configures_says_whether_a_principal_is_still_admitted_the_way_it_was() -> None:
    """What a link's click asks: is the principal that made it still in the configuration, by the same method?"""
    auth = authenticator(api_keys=f"alice:{SHA_ALICE}")  # bob's entry removed
    assert auth.configures("alice", "api_key") and not auth.configures("bob", "api_key")
    assert not auth.configures("ALICE", "api_key") and not auth.configures("alice ", "api_key")
    assert auth.configures("anyone", "jwt") and not auth.configures("alice", "gateway")
    keys_only = authenticator(jwt_secrets=None, jwt_issuer=None, jwt_audience=None)
    assert keys_only.configures("bob", "api_key") and not keys_only.configures("carol", "jwt")
    gateway = authenticator(api_keys=None, trust_gateway=True, gateway_header="X-User")
    assert gateway.configures("dave", "gateway") and not gateway.configures("alice", "api_key")
    assert not gateway.configures("dave", "carrier-pigeon")


GATEWAY_REFUSALS = {
    "empty": "",
    "too-long": "u" * 257,
    "control-character": "dave\r\nx-api-key: y",
    "surrounding-space": " dave",
    "wildcard": "*",
}


@pytest.mark.parametrize("value", GATEWAY_REFUSALS.values(), ids=GATEWAY_REFUSALS.keys())
def test_refused_gateway_principal(value: str) -> None:
    auth = authenticator(trust_gateway=True, gateway_header="x-user")
    error = refusal(auth, {"x-user": value})
    assert error.message == INVALID_CREDENTIALS
    assert "gateway principal header" in (error.detail or "")


# -- a presented credential decides -----------------------------------------------------------------------

FALL_THROUGH = {
    "bad-api-key-then-good-jwt": ({"x-api-key": "nope", **bearer(mint())}, "unknown api key"),
    "bad-api-key-then-gateway": ({"x-api-key": "nope", "x-user": "dave"}, "unknown api key"),
    "bad-jwt-then-gateway": ({**bearer(with_claims(exp=T - 3600)), "x-user": "dave"}, "token expired"),
    "empty-bearer-then-gateway": ({"authorization": "Bearer ", "x-user": "dave"}, "empty bearer token"),
    "bad-gateway-value": ({"x-user": ""}, "gateway principal header"),
}


@pytest.mark.parametrize(("headers", "detail"), FALL_THROUGH.values(), ids=FALL_THROUGH.keys())
def test_a_bad_credential_never_falls_through(headers: dict[str, str], detail: str) -> None:
    error = refusal(authenticator(trust_gateway=True, gateway_header="x-user"), headers)
    assert error.message == INVALID_CREDENTIALS
    assert detail in (error.detail or "")


NOTHING_PRESENTED = {
    "no-headers": ({}, "no credentials presented"),
    "basic-auth": ({"authorization": "Basic YWxpY2U6c2VjcmV0"}, "ignored Authorization (not Bearer)"),
    "other-headers-only": ({"cookie": "session=1", "x-forwarded-for": "203.0.113.9"},
                           "no credentials presented"),
}


@pytest.mark.parametrize(("headers", "detail"), NOTHING_PRESENTED.values(), ids=NOTHING_PRESENTED.keys())
def test_nothing_presented(headers: dict[str, str], detail: str) -> None:
    error = refusal(authenticator(), headers)
    assert error.message == AUTH_REQUIRED
    assert detail in (error.detail or "")


def test_headers_of_methods_not_configured_are_ignored() -> None:
    gateway_only = authenticator(api_keys=None, jwt_secrets=None, jwt_issuer=None, jwt_audience=None,
                                 trust_gateway=True, gateway_header="x-user")
    forwarded = {"authorization": "Bearer gateway.own.token", "x-api-key": "k", "x-user": "dave"}
    assert gateway_only.authenticate(forwarded, now=NOW) == Principal("dave", "gateway")
    error = refusal(gateway_only, {"x-api-key": ALICE_KEY, **bearer(mint())})
    assert error.message == AUTH_REQUIRED
    assert error.detail == ("no credentials presented; ignored X-Api-Key (API keys not configured), "
                            "Bearer token (JWT not configured)")


def test_the_clock_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError):
        authenticator().authenticate(bearer(mint()), now=NOW.replace(tzinfo=None))


def _assert_nothing_secret(error: Unauthenticated, *secrets: str) -> None:
    shown = f"{error} {error.message} {error.detail} {error!r}"
    for secret in secrets:
        if secret:
            assert secret not in shown
    for part in secrets[0].split("."):
        if len(part) >= 8:
            assert part not in shown


# -- configuration ---------------------------------------------------------------------------------------

CONFIG_ERRORS: dict[str, tuple[dict[str, object], str, str]] = {
    "nothing-configured": (
        {"api_keys": None, "jwt_secrets": None, "jwt_issuer": None, "jwt_audience": None}, "PRESIGN_API_KEYS",
        "no authentication configured: set PRESIGN_API_KEYS, PRESIGN_JWT_SECRET or PRESIGN_TRUST_GATEWAY"),
    "only-blank-values": (
        {"api_keys": " ", "jwt_secrets": "", "jwt_issuer": None, "jwt_audience": None}, "PRESIGN_API_KEYS",
        "no authentication configured"),
    "gateway-header-without-trust-is-not-a-method": (
        {"api_keys": None, "jwt_secrets": None, "jwt_issuer": None, "jwt_audience": None,
         "gateway_header": "x-user"}, "PRESIGN_API_KEYS", "no authentication configured"),
    "api-key-entry-without-colon": ({"api_keys": ALICE_KEY}, "PRESIGN_API_KEYS",
                                    "entry 1: expected principal:"),
    "api-key-cleartext-key": ({"api_keys": f"alice:{ALICE_KEY}"}, "PRESIGN_API_KEYS", "entry 1: the hash must"),
    "api-key-short-hash": ({"api_keys": f"alice:{SHA_ALICE[:40]}"}, "PRESIGN_API_KEYS", "got 40 characters"),
    "api-key-non-hex-hash": ({"api_keys": f"alice:{'g' * 64}"}, "PRESIGN_API_KEYS", "64 hex digits"),
    "api-key-second-entry": ({"api_keys": f"alice:{SHA_ALICE},bob:{SHA_BOB}0"}, "PRESIGN_API_KEYS",
                             "entry 2: the hash must"),
    "api-key-trailing-comma": ({"api_keys": f"alice:{SHA_ALICE},"}, "PRESIGN_API_KEYS", "entry 2: expected"),
    "api-key-empty-name": ({"api_keys": f":{SHA_ALICE}"}, "PRESIGN_API_KEYS", "entry 1: expected principal:"),
    "api-key-wildcard-name": ({"api_keys": f"*:{SHA_ALICE}"}, "PRESIGN_API_KEYS",
                              "entry 1: the principal name"),
    "api-key-repeated-hash": ({"api_keys": f"alice:{SHA_ALICE},mallory:{SHA_ALICE.upper()}"},
                              "PRESIGN_API_KEYS", "entry 2: repeats the hash"),
    "jwt-secret-short": ({"jwt_secrets": "too-short"}, "PRESIGN_JWT_SECRET",
                         "secret 1 is shorter than 32 bytes"),
    "jwt-second-secret-short": ({"jwt_secrets": f"{SECRET},short"}, "PRESIGN_JWT_SECRET",
                                "secret 2 is shorter"),
    "jwt-empty-rotation-slot": ({"jwt_secrets": f"{SECRET},,{OLD_SECRET}"}, "PRESIGN_JWT_SECRET", "secret 2"),
    "issuer-without-secret": ({"jwt_secrets": None, "jwt_audience": None}, "PRESIGN_JWT_ISSUER",
                              "PRESIGN_JWT_ISSUER is set but PRESIGN_JWT_SECRET is not"),
    "audience-without-secret": ({"jwt_secrets": None, "jwt_issuer": None}, "PRESIGN_JWT_AUDIENCE",
                                "PRESIGN_JWT_AUDIENCE is set but PRESIGN_JWT_SECRET is not"),
    "trust-without-header": ({"trust_gateway": True}, "PRESIGN_GATEWAY_PRINCIPAL_HEADER", "needs"),
    "trust-with-blank-header": ({"trust_gateway": True, "gateway_header": " "},
                                "PRESIGN_GATEWAY_PRINCIPAL_HEADER", "needs"),
    "gateway-header-authorization": ({"trust_gateway": True, "gateway_header": "Authorization"},
                                     "PRESIGN_GATEWAY_PRINCIPAL_HEADER", "other than X-Api-Key"),
    "gateway-header-x-api-key": ({"trust_gateway": True, "gateway_header": "X-API-KEY"},
                                 "PRESIGN_GATEWAY_PRINCIPAL_HEADER", "other than X-Api-Key"),
    "gateway-header-not-a-name": ({"trust_gateway": True, "gateway_header": "x user:"},
                                  "PRESIGN_GATEWAY_PRINCIPAL_HEADER", "must be a header name"),
}


@pytest.mark.parametrize(("settings", "variable", "message"), CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
def test_config_error(settings: dict[str, object], variable: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        authenticator(**settings)
    assert caught.value.variable == variable
    assert message in caught.value.message
    shown = f"{caught.value.message} {caught.value!r}"
    for secret in (ALICE_KEY, SHA_ALICE, SHA_ALICE.upper(), SHA_BOB, SHA_BOB.upper(), SECRET, "too-short"):
        assert secret not in shown


def test_repr_shows_no_secret() -> None:
    shown = repr(authenticator(trust_gateway=True, gateway_header="x-user"))
    assert shown == "Authenticator(api_keys=2, jwt_secrets=2, gateway_header='x-user')"


def test_direct_construction_refuses_short_secrets_and_bad_digests() -> None:
    with pytest.raises(ValueError):
        Authenticator(jwt_secrets=[b"short"])
    with pytest.raises(ValueError):
        Authenticator(api_keys=[("alice", b"\0" * 31)])


# -- values ----------------------------------------------------------------------------------------------

def test_principal_is_an_immutable_value() -> None:
    principal = Principal("alice", "jwt", "users/alice/")
    with pytest.raises(AttributeError):
        principal.name = "mallory"
    with pytest.raises(AttributeError):
        del principal.prefix
    assert principal == Principal("alice", "jwt", "users/alice/")
    assert principal != Principal("alice", "api_key", "users/alice/")
    assert len({principal, Principal("alice", "jwt", "users/alice/")}) == 1
    assert repr(principal) == "Principal(name='alice', via='jwt', prefix='users/alice/')"


def test_principal_via_is_one_of_three() -> None:
    with pytest.raises(ValueError):
        Principal("alice", "password")


def test_www_authenticate_is_one_standard_line() -> None:
    assert WWW_AUTHENTICATE.startswith('Bearer realm="presign"')
    assert "\n" not in WWW_AUTHENTICATE and "\r" not in WWW_AUTHENTICATE
    assert 'header="X-Api-Key"' in WWW_AUTHENTICATE


