"""Check a PostObject form as OSS does, before a byte of the file is kept: the V4 signature over the base64
policy, the times, the policy's grammar, every condition, and that no field goes unnamed by a condition.

    missing key, V1 fields, bad V4 fields     400 InvalidArgument
    unknown access key                        403 InvalidAccessKeyId
    wrong signature, region, token            403 SignatureDoesNotMatch
    x-oss-date over 15 minutes ahead          403 RequestTimeTooSkewed
    x-oss-date over 7 days old                403 AccessDenied "Request has expired."
    policy not base64 JSON of the grammar     400 InvalidPolicyDocument "Invalid Policy: ..."
    past the policy's expiration              403 AccessDenied "Invalid according to Policy: Policy expired."
    a condition not met (or its field absent) 403 AccessDenied "Invalid according to Policy: Policy Condition
                                                  failed: [...]"
    a field no condition names                403 AccessDenied "Invalid according to Policy: Extra input fields: ..."

The file's size is checked against ``content-length-range`` while it streams (``PostGrant.size_range``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import cast

from shared.clock import iso8601, parse_iso8601
from shared.credentials.value import Credentials
from shared.devtools.local_oss.errors import OssError
from shared.devtools.local_oss.verify import MAX_SKEW
from shared.oss.canonical import ALGORITHM
from shared.oss.limits import MAX_POST_SIZE
from shared.oss.post_policy import policy_signature
from shared.oss.signer import MAX_EXPIRES

UNCONDITIONED = frozenset({"policy", "x-oss-signature", "file"})  # fields no condition needs to name
_OPERATORS = ("eq", "starts-with", "in", "not-in")


@dataclass(frozen=True)
class PostGrant:
    """What a verified form allows: the key field, the size range, and the fields (names lower-cased)."""

    key: str
    size_range: tuple[int, int]
    fields: Mapping[str, str] = field(default_factory=dict)


def verify_post(form: list[tuple[str, str]], *, bucket: str, keyring: Mapping[str, Credentials], region: str,
                now: datetime) -> PostGrant:
    """Return what the form is allowed to upload, or raise the OssError OSS would answer with."""
    fields = _unique(form)
    if "ossaccesskeyid" in fields or "signature" in fields:
        raise OssError("InvalidArgument", "Only OSS Signature V4 forms (x-oss-signature) are checked here; this "
                                          "form is signed with V1 (OSSAccessKeyId, Signature).")
    if "key" not in fields:
        raise OssError("InvalidArgument", "The body of your POST request must contain a field named 'key' "
                                          "before the file.")
    if "policy" not in fields or "x-oss-signature" not in fields:
        raise OssError("AccessDenied", "Anonymous access is forbidden: the form carries no policy and "
                                       "x-oss-signature.")
    _check_signature(fields, keyring, region, now)
    expiration, conditions = parse_policy(fields["policy"])
    if now > expiration:
        raise OssError("AccessDenied", "Invalid according to Policy: Policy expired.", Expiration=iso8601(expiration),
                       ServerTime=iso8601(now))
    named = {"bucket"}
    low, high = 0, MAX_POST_SIZE
    for condition in conditions:
        if condition[0] == "content-length-range":
            low, high = max(low, cast(int, condition[1])), min(high, cast(int, condition[2]))
            continue
        operator, name, expected = condition
        assert isinstance(name, str)
        named.add(name)
        given = bucket if name == "bucket" else fields.get(name)
        if given is None or not _holds(operator, given, expected):
            raise OssError("AccessDenied", f"Invalid according to Policy: Policy Condition failed: "
                                           f"{json.dumps([operator, '$' + name, expected], ensure_ascii=False)}")
    extra = sorted(set(fields) - named - UNCONDITIONED)
    if extra:
        raise OssError("AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
    return PostGrant(fields["key"], (low, high), fields)


def parse_policy(encoded: str) -> tuple[datetime, list[tuple[object, ...]]]:
    """Decode the policy field; return its expiration and its conditions, each as (operator, field, value) or
    ("content-length-range", min, max). InvalidPolicyDocument names what breaks the grammar."""
    try:
        document = json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"), object_pairs_hook=_no_repeats)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid("the policy must be base64 of a UTF-8 JSON object") from None
    if not isinstance(document, dict) or set(document) != {"expiration", "conditions"}:
        raise _invalid("the policy must hold exactly 'expiration' and 'conditions'")
    try:
        expiration = parse_iso8601(document["expiration"], utc_only=True)
    except (ValueError, TypeError):
        raise _invalid(f"Invalid 'expiration' value: {str(document['expiration'])[:40]!r}") from None
    conditions = document["conditions"]
    if not isinstance(conditions, list) or not conditions:
        raise _invalid("'conditions' must be a non-empty list")
    return expiration, [_condition(item) for item in conditions]


def _condition(item: object) -> tuple[object, ...]:
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        (name, value), = item.items()
        if not isinstance(value, str):
            raise _invalid(f"the value of {name!r} must be a string")
        return "eq", name.lower(), value
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid("each condition must be an object or a list starting with its operator")
    operator = item[0].lower()
    if operator == "content-length-range":
        if len(item) != 3 or not all(type(n) is int and n >= 0 for n in item[1:]) or item[1] > item[2]:
            raise _invalid("content-length-range takes two whole numbers, min <= max")
        return operator, item[1], item[2]
    if operator not in _OPERATORS or len(item) != 3 or not isinstance(item[1], str):
        raise _invalid(f"a condition must be [operator, \"$field\", value] with an operator of "
                       f"{', '.join(_OPERATORS)} or content-length-range; got {item[0][:20]!r}")
    listed = operator in ("in", "not-in")
    value = item[2]
    if listed and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise _invalid(f"{operator} takes a list of strings")
    if not listed and not isinstance(value, str):
        raise _invalid(f"{operator} takes a string")
    return operator, item[1].removeprefix("$").lower(), value


def _holds(operator: object, given: str, expected: object) -> bool:
    if operator == "eq":
        return given == expected
    if operator == "starts-with":
        return given.startswith(str(expected))
    assert isinstance(expected, list)
    return (given in expected) == (operator == "in")


def _check_signature(fields: Mapping[str, str], keyring: Mapping[str, Credentials], region: str,
                     now: datetime) -> None:
    version = fields.get("x-oss-signature-version")
    if version != ALGORITHM:
        raise OssError("InvalidArgument", f"x-oss-signature-version must be {ALGORITHM}, got {str(version)[:40]!r}.")
    parts = fields.get("x-oss-credential", "").split("/")
    if len(parts) != 5 or parts[4] != "aliyun_v4_request" or not all(parts[:4]):
        raise OssError("InvalidArgument", "x-oss-credential must be "
                                          "<AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request.")
    access_key_id, date, scope_region, product = parts[:4]
    stamp = fields.get("x-oss-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise OssError("InvalidArgument", f"x-oss-date must be yyyymmddThhmmssZ, got {stamp[:40]!r}.") from None
    if date != stamp[:8] or scope_region != region or product != "oss":
        raise OssError("SignatureDoesNotMatch", f"The credential's scope {date}/{scope_region}/{product} is not "
                                                f"{stamp[:8]}/{region}/oss: the day of x-oss-date, this bucket's "
                                                f"region and oss.")
    credentials = keyring.get(access_key_id)
    if credentials is None:
        raise OssError("InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
                       OSSAccessKeyId=access_key_id)
    _check_token(fields.get("x-oss-security-token"), credentials.security_token)
    expected = policy_signature(credentials.access_key_secret, date, region, fields["policy"])
    if not hmac.compare_digest(expected.encode(), fields["x-oss-signature"].encode()):
        raise OssError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                                                "you provided. Check your key and signing method.")
    if signed_at - now > MAX_SKEW:
        raise OssError("RequestTimeTooSkewed", "The difference between the request time and the current time is "
                                               "too large.", RequestTime=iso8601(signed_at), ServerTime=iso8601(now))
    if now - signed_at > timedelta(seconds=MAX_EXPIRES):
        raise OssError("AccessDenied", "Request has expired.", RequestTime=iso8601(signed_at), ServerTime=iso8601(now))


def _check_token(given: str | None, expected: str | None) -> None:
    if expected is None and given is None:
        return
    if expected is None or given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise OssError("SignatureDoesNotMatch", "The security token (x-oss-security-token) is missing, unexpected "
                                                "or not the one issued with this access key id.")


def _unique(form: list[tuple[str, str]]) -> dict[str, str]:
    """The fields by lower-cased name (conditions name them in any case); a name given twice is refused."""
    fields: dict[str, str] = {}
    for name, value in form:
        lower = name.lower()
        if lower in fields:
            raise OssError("InvalidArgument", f"The form field {name!r} is given twice.")
        fields[lower] = value
    return fields


def _no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a name is repeated")
    return dict(pairs)


def _invalid(problem: str) -> OssError:
    return OssError("InvalidPolicyDocument", f"Invalid Policy: {problem}")
