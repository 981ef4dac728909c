"""The verdict of ``python -m shared explain`` and its words: findings, sentences, the rendering.

It never words the URL, its signature or a security token (a token shows as ``<redacted>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import iso8601
from shared.credentials.value import Credentials
from shared.devtools.local_oss.addressing import ObjectRequest
from shared.devtools.local_oss.verify import REDACTED, AuthFailure, Authorization
from shared.oss.signer import METHODS


@dataclass(frozen=True)
class Finding:
    """One reason a URL is not valid (or a note about a valid one): a stable cause and a sentence."""

    cause: str
    text: str


@dataclass(frozen=True)
class Explanation:
    """The verdict on a URL: valid or not, for which request, why, and what OSS computes from it."""

    valid: bool
    request: ObjectRequest
    authorization: Authorization | None
    findings: tuple[Finding, ...]
    canonical_request: str | None = None
    string_to_sign: str | None = None
    method_known: bool = True  # False when no method verifies: the request shown is only the first tried

    @property
    def causes(self) -> tuple[str, ...]:
        """The findings' causes, in order."""
        return tuple(finding.cause for finding in self.findings)

    def render(self) -> str:
        """Word the explanation for a terminal."""
        key, bucket = self.request.key, self.request.bucket
        what = (f"key {key!r}" if key is not None else "an unknown key") + \
            (f" in bucket {bucket!r}" if bucket is not None else " in an unknown bucket")
        auth = self.authorization
        if self.method_known:
            lines = [f"{'valid' if self.valid else 'NOT VALID'}: {self.request.method} of {what}"]
        else:
            lines = [f"NOT VALID: {what}, for no method ({', '.join(METHODS)}) with the headers given"]
        if auth is not None:
            expires = f", expires at {iso8601(auth.expires_at)}" if auth.expires_at is not None else ""
            lines.append(f"  signed by {auth.access_key_id} for {auth.scope_region} at {iso8601(auth.signed_at)}"
                         f"{expires}")
        lines += [f"- {finding.text}" for finding in self.findings]
        if self.canonical_request is not None:
            note = f" (the security token shows as {REDACTED})" if REDACTED in self.canonical_request else ""
            lines += [f"canonical request OSS computes from this URL{note}:", _indent(self.canonical_request),
                      "string to sign:", _indent(self.string_to_sign or "")]
        return "\n".join(lines) + "\n"


def sentence(failure: AuthFailure, auth: Authorization | None, credentials: Credentials, now: datetime) -> str:
    """Word one failure for the person holding the URL."""
    if auth is None:
        return failure.message
    expires_at = auth.expires_at or auth.signed_at
    words: dict[str, Callable[[], str]] = {
        "expired": lambda: f"expired at {iso8601(expires_at)}, {_duration(now - expires_at)} ago "
                           f"(signed at {iso8601(auth.signed_at)} to last {auth.expires} s)",
        "not_yet_valid": lambda: f"not yet valid: it is dated {iso8601(auth.signed_at)}, "
                                 f"{_duration(auth.signed_at - now)} from now, and OSS refuses dates more than "
                                 f"15 minutes ahead (is a clock wrong?)",
        "credential_date": lambda: f"credential date mismatch: the credential scope's date {auth.scope_date} is not "
                                   f"the day of x-oss-date {auth.timestamp}",
        "region": lambda: f"region mismatch: {failure.message.replace('this bucket is', 'the host is')}",
        "access_key": lambda: f"signed with access key id {auth.access_key_id}, but your credentials are "
                              f"{credentials.access_key_id}: the signature cannot be checked with them",
        "token_missing": lambda: f"a security token is expected: access key id {auth.access_key_id} is temporary "
                                 f"(STS) and the URL carries no x-oss-security-token",
        "token_unexpected": lambda: f"the URL carries a security token, but your credentials for "
                                    f"{auth.access_key_id} have none",
        "token_wrong": lambda: "the URL's security token is not your credentials' token (were the STS credentials "
                               "renewed since it was signed?)",
        "header_missing": lambda: f"signed header(s) the client must send: {failure.details['MissingHeaders']} "
                                  f"(check with --header 'Name: value')",
        "signature": lambda: "signature mismatch: the signature is not the one these credentials give for the "
                             "canonical request below",
    }
    sentence = words.get(failure.cause)
    return sentence() if sentence else failure.message


def notes(request: ObjectRequest, auth: Authorization, now: datetime) -> list[Finding]:
    notes: list[Finding] = []
    if auth.expires_at is not None:  # always, for a presigned URL: x-oss-expires is required
        notes.append(Finding("valid_until", f"valid for {_duration(auth.expires_at - now)} more"))
    signed = sorted(n for n in request.headers if n in auth.additional or n.startswith("x-oss-")
                    or n in ("content-type", "content-md5"))
    if signed:
        notes.append(Finding("send_headers", "the client must send: " + ", ".join(
            f"{name}: {request.headers[name]}" for name in signed)))
    source = request.param("x-oss-ac-source-ip")
    if source:
        notes.append(Finding("source_ip", f"only requests from {source} are allowed (not checked here)"))
    return notes


def _duration(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    parts = [(days, "d"), (rest // 3600, "h"), (rest % 3600 // 60, "min"), (rest % 60, "s")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount][:2]
    return " ".join(shown) or "0 s"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))
