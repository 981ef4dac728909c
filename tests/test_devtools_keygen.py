"""``python -m shared keygen``: a fresh secret of each kind that the functions accept as configured, and for
API keys the PRESIGN_API_KEYS entry; a wrong flag is one line with exit status 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from shared.auth.authenticator import Authenticator, hash_api_key
from shared.devtools.cli import main
from shared.links.tokens import LinkSigner
from shared.object_created.rules import parse_rules

NOW = datetime(2026, 11, 21, tzinfo=timezone.utc)


def keygen(*argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["keygen", *argv], environ={}, stdout=out, stderr=err)
    return status, out.getvalue().splitlines(), err.getvalue()


def test_an_api_key_and_its_entry() -> None:
    status, (key, entry), err = keygen("api-key", "--principal", "reports-app")
    assert (status, err) == (0, "")
    assert entry == f"reports-app:{hash_api_key(key)}" and len(key) >= 40
    authenticator = Authenticator.from_settings(api_keys=entry, jwt_secrets=None, jwt_issuer=None, jwt_audience=None,
                                                trust_gateway=False, gateway_header=None)
    assert authenticator.authenticate({"x-api-key": key}, now=NOW).name == "reports-app"


def test_the_default_principal() -> None:
    status, (_, entry), _ = keygen("api-key")
    assert status == 0 and entry.startswith("default:")


def test_each_run_is_fresh() -> None:
    assert keygen("jwt-secret")[1] != keygen("jwt-secret")[1]


def test_a_jwt_secret_is_accepted_by_the_authenticator() -> None:
    status, (secret,), _ = keygen("jwt-secret")
    assert status == 0 and len(secret.encode()) >= 32 and "," not in secret
    Authenticator.from_settings(api_keys=None, jwt_secrets=secret, jwt_issuer=None, jwt_audience=None,
                                trust_gateway=False, gateway_header=None)


def test_a_link_key_is_a_signing_key_entry() -> None:
    status, (entry,), _ = keygen("link-key", "--kid", "k2")
    assert status == 0 and entry.startswith("k2:")
    assert LinkSigner.from_setting(f"k1:{'x' * 32},{entry}").kid == "k2"
    assert LinkSigner.from_setting(keygen("link-key")[1][0]).kid


def test_a_webhook_secret_is_accepted_by_the_rules() -> None:
    status, (secret,), _ = keygen("webhook-secret")
    assert status == 0
    parse_rules(f'[{{"link": "presigned", "webhook": {{"url": "https://h.example/x", "secret": "{secret}"}}}}]')


@pytest.mark.parametrize(("argv", "fragment"), [
    ([], "the following arguments are required: KIND"),
    (["password"], "invalid choice: 'password'"),
    (["api-key", "--principal", "*"], "--principal"),
    (["api-key", "--principal", "a,b"], "--principal"),
    (["api-key", "--principal", ""], "--principal"),
    (["api-key", "--principal", " x"], "no spaces around the name"),
    (["jwt-secret", "--principal", "x"], "--principal applies to api-key only"),
    (["api-key", "--kid", "k2"], "--kid applies to link-key only"),
    (["link-key", "--kid", "not a kid!"], "--kid"),
])
def test_mistakes_are_one_line_with_exit_2(argv: list[str], fragment: str) -> None:
    status, out, err = keygen(*argv)
    assert (status, out) == (2, []) and err.count("\n") == 1 and err.startswith("error: ")
    assert fragment in err


def test_through_the_real_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "shared", "keygen", "api-key"], capture_output=True, text=True,
                          timeout=30, env={"PATH": os.environ.get("PATH", "")},
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0 and done.stderr == "" and len(done.stdout.splitlines()) == 2
