"""The invocation-first provider of the functions: the FC invocation's credentials first, the chain
after, and AssumeRole (ALIBABA_CLOUD_ROLE_ARN) on top of whichever gave credentials - never skipped."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from stubs_credential_services import FakeSts
from stubs_credentials import ROLE_ARN

from shared.credentials.invocation import invocation, invocation_first

CONTEXT_KEYS = {"accessKeyId": "STS.context01", "accessKeySecret": "SECRETcontext", "securityToken": "TOKENcontext"}


def _context() -> SimpleNamespace:
    return SimpleNamespace(request_id="req-1", credentials=SimpleNamespace(
        access_key_id=CONTEXT_KEYS["accessKeyId"], access_key_secret=CONTEXT_KEYS["accessKeySecret"],
        security_token=CONTEXT_KEYS["securityToken"]))


def test_the_invocations_credentials_come_first(clock) -> None:
    environ = {"OSS_ACCESS_KEY_ID": "LTAIenv", "OSS_ACCESS_KEY_SECRET": "SECRETenv",
               "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    provider = invocation_first(environ, clock=clock)
    with invocation(_context()):
        assert provider.get_credentials().access_key_id == "STS.context01"
    assert provider.get_credentials().access_key_id == "LTAIenv"  # no invocation bound: the chain


def test_a_role_arn_is_assumed_with_the_invocations_credentials(serve, minted, clock) -> None:
    server = serve(FakeSts(minted, keys={CONTEXT_KEYS["accessKeyId"]: CONTEXT_KEYS["accessKeySecret"]},
                           tokens={CONTEXT_KEYS["accessKeyId"]: CONTEXT_KEYS["securityToken"]}))
    environ = {"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_STS_ENDPOINT": server.url,
               "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION": "900",
               "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    provider = invocation_first(environ, clock=clock)
    with invocation(_context()):
        credentials = provider.get_credentials()
    assert credentials.access_key_id.startswith("STS.minted")
    assert credentials.expiration == clock() + timedelta(seconds=900)
    assert server.requests[0].query["AccessKeyId"] == "STS.context01"
    assert server.requests[0].query["SecurityToken"] == "TOKENcontext"
    assert provider.get_credentials() is credentials  # cached until it needs refreshing


def test_a_role_arn_is_assumed_with_the_chains_credentials_outside_an_invocation(serve, minted, clock) -> None:
    server = serve(FakeSts(minted, keys={"LTAIenv": "SECRETenv"}))
    environ = {"OSS_ACCESS_KEY_ID": "LTAIenv", "OSS_ACCESS_KEY_SECRET": "SECRETenv",
               "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_STS_ENDPOINT": server.url,
               "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    credentials = invocation_first(environ, clock=clock).get_credentials()
    assert credentials.access_key_id.startswith("STS.minted")
    assert server.requests[0].query["AccessKeyId"] == "LTAIenv"
