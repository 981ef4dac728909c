"""``python -m shared token``: an HS256 JWT from PRESIGN_JWT_SECRET that the presign gate accepts for the
subject and prefix asked for, until its ttl; a missing or short secret or a bad flag is one line, exit 2."""

from __future__ import annotations

import base64
import io
import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest

from shared.auth.authenticator import Authenticator, Principal
from shared.devtools.cli import main
from shared.errors import Unauthenticated


def token(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["token", *argv], environ=environ, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _gate(secrets_text: str, **settings: str) -> Authenticator:
    return Authenticator.from_settings(api_keys=None, jwt_secrets=secrets_text, jwt_issuer=settings.get("iss"),
                                       jwt_audience=settings.get("aud"), trust_gateway=False, gateway_header=None)


@pytest.fixture
def secret() -> str:
    return secrets.token_urlsafe(48)


def test_a_token_the_gate_accepts(secret: str) -> None:
    status, out, err = token(["--sub", "alice", "--prefix", "users/alice/"], {"PRESIGN_JWT_SECRET": secret})
    assert (status, err) == (0, "") and out.count("\n") == 1
    jwt = out.strip()
    now = datetime.now(timezone.utc)
    assert _gate(secret).authenticate({"authorization": f"Bearer {jwt}"}, now=now) == \
        Principal("alice", "jwt", "users/alice/")
    claims = _claims(jwt)
    assert claims["exp"] - claims["iat"] == 3600 and abs(claims["iat"] - now.timestamp()) < 60


def test_the_ttl_ends_it(secret: str) -> None:
    status, out, _ = token(["--sub", "bob", "--ttl", "60"], {"PRESIGN_JWT_SECRET": secret})
    claims = _claims(out.strip())
    assert status == 0 and claims["exp"] - claims["iat"] == 60 and "prefix" not in claims
    later = datetime.now(timezone.utc) + timedelta(seconds=60 + 61)  # past exp and the gate's 60 s of leeway
    with pytest.raises(Unauthenticated):
        _gate(secret).authenticate({"authorization": f"Bearer {out.strip()}"}, now=later)


def test_signed_with_the_first_secret_and_the_configured_issuer_and_audience(secret: str) -> None:
    other = secrets.token_urlsafe(48)
    environ = {"PRESIGN_JWT_SECRET": f" {secret} , {other}", "PRESIGN_JWT_ISSUER": "me", "PRESIGN_JWT_AUDIENCE": "it"}
    status, out, _ = token(["--sub", "carol"], environ)
    assert status == 0 and (_claims(out)["iss"], _claims(out)["aud"]) == ("me", "it")
    now = datetime.now(timezone.utc)
    assert _gate(secret, iss="me", aud="it").authenticate({"authorization": f"Bearer {out.strip()}"}, now=now)
    with pytest.raises(Unauthenticated):
        _gate(other, iss="me", aud="it").authenticate({"authorization": f"Bearer {out.strip()}"}, now=now)


@pytest.mark.parametrize(("argv", "environ", "fragment"), [
    (["--sub", "a"], {}, "PRESIGN_JWT_SECRET is not set"),
    (["--sub", "a"], {"PRESIGN_JWT_SECRET": " "}, "PRESIGN_JWT_SECRET is not set"),
    (["--sub", "a"], {"PRESIGN_JWT_SECRET": "short"}, "shorter than 32 bytes"),
    (["--sub", "a"], {"PRESIGN_JWT_SECRET": " ," + "s" * 32}, "PRESIGN_JWT_SECRET secret 1 is shorter than 32 bytes"),
    (["--sub", "a"], {"PRESIGN_JWT_SECRET": "s" * 32 + ",short"}, "PRESIGN_JWT_SECRET secret 2 is shorter than 32"),
    ([], {"PRESIGN_JWT_SECRET": "s" * 32}, "the following arguments are required: --sub"),
    (["--sub", "*"], {"PRESIGN_JWT_SECRET": "s" * 32}, "--sub"),
    (["--sub", ""], {"PRESIGN_JWT_SECRET": "s" * 32}, "--sub"),
    (["--sub", "a", "--prefix", ""], {"PRESIGN_JWT_SECRET": "s" * 32}, "--prefix"),
    (["--sub", "a", "--ttl", "0"], {"PRESIGN_JWT_SECRET": "s" * 32}, "--ttl must be 1..86400 seconds, got 0"),
    (["--sub", "a", "--ttl", "86401"], {"PRESIGN_JWT_SECRET": "s" * 32}, "--ttl must be 1..86400 seconds, got 86401"),
    (["--sub", "a", "--ttl", "1h"], {"PRESIGN_JWT_SECRET": "s" * 32}, "argument --ttl: invalid int value: '1h'"),
])
def test_mistakes_are_one_line_with_exit_2(argv: list[str], environ: dict[str, str], fragment: str) -> None:
    status, out, err = token(argv, environ)
    assert (status, out) == (2, "") and err.count("\n") == 1 and fragment in err
    assert "s" * 32 not in err
