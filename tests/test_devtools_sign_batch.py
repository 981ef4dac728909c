"""``python -m shared sign --batch``: the plain-line path says, byte for byte, what the one-URL path says."""

from __future__ import annotations

import io
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from stubs_credentials import ScriptedProvider

from shared.config import SigningDefaults
from shared.credentials.value import Credentials
from shared.devtools.sign_batch import BatchAnswers, answer_batch, answer_line
from shared.devtools.signing import Signer

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
_ALPHABET = "aZ09-_.~ +%?#&=/\\:;@!*'()[]{}|^`\"<>,$中文😀é\t\n"
_TIMES = ["2025-03-04T05:06:07Z", "20250304T050608Z", "2025-03-04T05:06:07+00:00", "2025-13-04T05:06:07Z", "",
          "yesterday"]
_EXPIRES = [900, 900, 60, 1, 604800, 0, 604801, -5]
# Lines no plain request is: each must take the one-URL path and say what it says.
_ODD_LINES = [
    b"this is not json", b"[1, 2]", b'{"key": "a"} x', b'{"key": "a"}  \t\r', b'\xef\xbb\xbf{"key": "a"}',
    b'{\x00"key": "a"}', b'{"key": "\xff"}', b'{"key": "\\ud800"}', b'{"key": "a", "at": null}',
    b'{"key": "a", "params": null}', b'{"key": "a", "expires": true}', b'{"key": "a", "expires": 9.5}',
    b'{"key": "a", "params": {"x-oss-date": "1"}}', b'{"key": "a", "params": {"a": 1}}', b'{"key": ""}',
    b'{"key": "/abs"}', b'{"key": ".."}', b'{"key": "a/../b"}', b'{"key": 5}', b'{"at": "20250304T050607Z"}',
    b'{"key": "a", "colour": "blue"}', b'{"key": "a", "method": "PUT"}', b'{"key": "a", "bucket": "otherbucket"}',
    b'{"key": "a", "headers": {"Content-Type": "text/plain"}}', b'{"key": "a", "key": "b"}', b' {"key": "a"}',
    b'{"key": "a", "params": {"response-content-type": "text/plain", "": "x"}}', "{\"key\": \"é\"}".encode("utf-16"),
]


def _random_text(rng: random.Random, most: int = 30) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, most)))


def _random_line(rng: random.Random) -> bytes:
    if rng.random() < 0.15:
        return rng.choice(_ODD_LINES)
    request: dict[str, object] = {"key": _random_text(rng)}
    if rng.random() < 0.8:
        request["at"] = rng.choice(_TIMES)
    if rng.random() < 0.7:
        request["expires"] = rng.choice(_EXPIRES)
    if rng.random() < 0.7:
        request["params"] = {rng.choice(["response-content-type", "response-content-disposition", "versionId",
                                         "x-oss-process", "z", _random_text(rng, 8)]):
                             rng.choice([None, "", _random_text(rng)]) for _ in range(rng.randint(0, 3))}
    items = list(request.items())
    rng.shuffle(items)
    return json.dumps(dict(items), ensure_ascii=rng.random() < 0.5).encode()


def _both(lines: list[bytes] | list[str], defaults: SigningDefaults, *answers: Credentials) -> None:
    """Answer the lines by the batch path and by the one-URL path, each with its own signer; compare."""
    fast_provider, slow_provider = ScriptedProvider(*answers), ScriptedProvider(*answers)
    fast = BatchAnswers(Signer(defaults, fast_provider))
    slow = Signer(defaults, slow_provider)
    for line in lines:
        assert fast.answer(line) == answer_line(slow, line), line
    assert fast_provider.calls == slow_provider.calls  # the same credentials fetched at the same lines


def _defaults(endpoint: str | None = None, cname: bool = False) -> SigningDefaults:
    return SigningDefaults("examplebucket", "cn-hangzhou", endpoint, cname)


LONG_LIVED = Credentials("LTAI5tBatchKey", "batch-secret-0123456789")


@pytest.mark.parametrize("seed", range(12))
def test_random_lines_get_the_one_url_paths_bytes(seed: int) -> None:
    rng = random.Random(seed)
    lines = [_random_line(rng) for _ in range(300)]
    _both(lines, _defaults(), LONG_LIVED)
    _both([line.decode("utf-8", "replace") for line in lines], _defaults(), LONG_LIVED)  # a text stream's lines


@pytest.mark.parametrize(("endpoint", "cname"), [("http://127.0.0.1:9000", False), ("cdn.example.com", True),
                                                 ("oss-cn-beijing.aliyuncs.com", True), ("ftp://x", False)])
def test_endpoints_from_the_defaults(endpoint: str, cname: bool) -> None:
    rng = random.Random(endpoint)
    _both([_random_line(rng) for _ in range(100)], _defaults(endpoint, cname), LONG_LIVED)


def test_no_bucket_or_region_in_the_defaults() -> None:
    rng = random.Random(7)
    lines = [_random_line(rng) for _ in range(50)]
    _both(lines, SigningDefaults(None, "cn-hangzhou", None, False), LONG_LIVED)
    _both(lines, SigningDefaults("examplebucket", None, None, False), LONG_LIVED)
    _both(lines, SigningDefaults("Bad_Bucket", "cn-hangzhou", None, False), LONG_LIVED)


def test_expiring_credentials_cap_and_refresh_at_the_same_lines() -> None:
    """STS credentials that cap some lines' lifetime and run out for others: fetched again where the one-URL
    path fetches them, and each line capped as it caps it."""
    rng = random.Random(3)
    soon = [Credentials(f"STS.batch{n}", f"sts-secret-{n}", f"token+/={n}", AT + timedelta(seconds=300 * n))
            for n in range(1, 6)]
    lines = [_random_line(rng) for _ in range(400)]
    _both(lines, _defaults(), *soon)
    _both(lines, _defaults(), soon[0])  # never enough for the long lines: fetched (and refused) each time


def test_a_batch_stream_is_answered_in_order_as_the_one_url_path_would() -> None:
    rng = random.Random(11)
    lines = [_random_line(rng) for _ in range(200)]
    text = "\n".join(line.decode("utf-8", "replace").replace("\n", " ") for line in lines) + "\n\n"
    out = io.StringIO()
    assert answer_batch(Signer(_defaults(), ScriptedProvider(LONG_LIVED)), io.StringIO(text), out) == 0
    slow = Signer(_defaults(), ScriptedProvider(LONG_LIVED))
    assert out.getvalue() == "".join(answer_line(slow, line) for line in text.splitlines(True) if line.strip())
