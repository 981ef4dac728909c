"""The default chain end to end: order, the remembered source, AssumeRole on top, and one clear error."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from stubs_credential_services import FakeMetadataService, FakeSts
from stubs_credentials import (
    OIDC_PROVIDER_ARN,
    ROLE_ARN,
    Reply,
    ScriptedProvider,
    assert_no_secret,
)

from shared.credentials import (
    Credentials,
    CredentialsCache,
    CredentialsChain,
    SourceNotConfigured,
    default_provider,
)
from shared.credentials.chain import NETWORK_VARIABLES, DeferredSource, network_source
from shared.errors import ConfigError, CredentialsError, CredentialsUnavailable

ORDER = [
    "explicit",
    "fc_context",
    "environment",
    "oidc_role_arn",
    "ecs_ram_role",
    "credentials_uri",
    "credentials_file",
]


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on: the metadata service is 'absent' at once, not after a timeout."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def everything(serve, minted, tmp_path: Path, closed_port: int) -> dict:
    """Every source configured, each giving recognisable keys; tests remove them from the front."""
    token_file = tmp_path / "oidc-token"
    token_file.write_text("eyJ.chain.sig")
    sts = serve(FakeSts(minted, oidc_token="eyJ.chain.sig"))
    imds = serve(FakeMetadataService(minted))
    uri = serve(lambda request: Reply(200, minted.document(AccessKeyId="STS.from-uri")))
    ini = tmp_path / "credentials.ini"
    ini.write_text("[default]\ntype = access_key\naccess_key_id = LTAIfile\naccess_key_secret = SECRETfile\n")
    return {
        "explicit": {"credentials": Credentials("LTAIexplicit", "SECRETexplicit")},
        "fc_context": {
            "context": SimpleNamespace(
                credentials=SimpleNamespace(
                    access_key_id="STS.context",
                    access_key_secret="SECRETcontext",
                    security_token="TOKENcontext",
                )
            )
        },
        "environment": {"OSS_ACCESS_KEY_ID": "LTAIenv", "OSS_ACCESS_KEY_SECRET": "SECRETenv"},
        "oidc_role_arn": {
            "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        },
        "ecs_ram_role": {"ALIBABA_CLOUD_IMDS_ENDPOINT": imds.url},
        "credentials_uri": {"ALIBABA_CLOUD_CREDENTIALS_URI": uri.url},
        "credentials_file": {"ALIBABA_CLOUD_CREDENTIALS_FILE": str(ini)},
        "common": {
            "ALIBABA_CLOUD_STS_ENDPOINT": sts.url,
            "ALIBABA_CLOUD_IMDS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
        },
        "servers": {"sts": sts, "imds": imds, "uri": uri},
    }


def build(everything: dict, names: list[str], clock) -> CredentialsCache:
    environ = dict(everything["common"])
    keywords = {}
    for name in names:
        if name in ("explicit", "fc_context"):
            keywords.update(everything[name])
        else:
            environ.update(everything[name])
    return default_provider(environ, clock=clock, **keywords)


EXPECTED_KEY = {
    "explicit": "LTAIexplicit",
    "fc_context": "STS.context",
    "environment": "LTAIenv",
    "oidc_role_arn": "STS.minted0001",
    "ecs_ram_role": "STS.minted0001",
    "credentials_uri": "STS.from-uri",
    "credentials_file": "LTAIfile",
}


@pytest.mark.parametrize("first", range(len(ORDER)), ids=ORDER)
def test_chain_order(everything: dict, clock, first: int) -> None:
    provider = build(everything, ORDER[first:], clock)
    assert provider.get_credentials().access_key_id == EXPECTED_KEY[ORDER[first]]
    assert provider.provider.source.name == ORDER[first]


def test_none_works_names_every_source_and_why(closed_port: int, tmp_path: Path) -> None:
    environ = {
        "ALIBABA_CLOUD_IMDS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
        "HOME": str(tmp_path),
        "OSS_ACCESS_KEY_ID": "LTAIhalf",
    }
    with pytest.raises(CredentialsUnavailable) as caught:
        default_provider(environ).get_credentials()
    message = str(caught.value)
    assert message.startswith("credentials unavailable: no source gave credentials; explicit: ")
    positions = [message.index(f"; {name}: ") for name in ORDER[1:]]
    assert positions == sorted(positions)
    assert (
        "environment: OSS_ACCESS_KEY_SECRET is not set, but OSS_ACCESS_KEY_ID is: set both keys [failed]"
        in message
    )
    assert "fc_context: no Function Compute context given [skipped]" in message
    assert (
        "ecs_ram_role: cannot connect to" in message and "credentials.ini does not exist [skipped]" in message
    )


def test_chain_remembers_the_source_that_worked() -> None:
    skipped = ScriptedProvider(SourceNotConfigured("first", "not here"))
    working = ScriptedProvider(Credentials("LTAIsecond", "SECRETsecond"))
    chain = CredentialsChain([skipped, working])
    chain.get_credentials()
    chain.get_credentials()
    assert (skipped.calls, working.calls, chain.source) == (1, 2, working)


def test_remembered_source_failing_is_reported_not_replaced() -> None:
    working = ScriptedProvider(
        Credentials("STS.a", "SECRETa", "TOKENa"),
        CredentialsError("ecs_ram_role", "credentials of role 'r': HTTP 500"),
    )
    fallback = ScriptedProvider(Credentials("LTAIother", "SECRETother"))
    chain = CredentialsChain([working, fallback])
    chain.get_credentials()
    with pytest.raises(CredentialsError, match="ecs_ram_role: credentials of role 'r': HTTP 500"):
        chain.get_credentials()
    assert fallback.calls == 0


def test_failed_source_is_logged_and_the_chain_moves_on(caplog: pytest.LogCaptureFixture) -> None:
    failing = ScriptedProvider(CredentialsError("environment", "OSS_ACCESS_KEY_SECRET is not set"))
    working = ScriptedProvider(Credentials("LTAIfile", "SECRETfile"))
    with caplog.at_level(logging.INFO, logger="shared.credentials"):
        assert CredentialsChain([failing, working]).get_credentials().access_key_id == "LTAIfile"
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "credential source failed, trying the next: environment: OSS_ACCESS_KEY_SECRET is not set",
        "using credentials from scripted",
    ]


def test_assume_role_on_top_of_environment_keys(serve, minted, clock, closed_port: int) -> None:
    fake = FakeSts(minted, keys={"LTAIenv": "SECRETenv"})
    server = serve(fake)
    environ = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SECRETenv",
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_STS_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION": "900",
        "ALIBABA_CLOUD_IMDS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
    }
    provider = default_provider(environ, clock=clock)
    credentials = provider.get_credentials()
    assert credentials.access_key_id == "STS.minted0001"
    assert credentials.expiration == clock() + timedelta(seconds=900)
    assert server.requests[0].query["AccessKeyId"] == "LTAIenv"
    assert provider.get_credentials() is credentials  # cached
    clock.advance(seconds=900 - 60)  # refresh-ahead: a tenth of 15 min
    assert provider.get_credentials().access_key_id == "STS.minted0002"
    assert len(server.requests) == 2


def test_assume_role_on_top_of_the_instance_role(serve, minted, clock) -> None:
    imds_fake = FakeMetadataService(minted)
    imds = serve(imds_fake)
    instance = minted.document()
    imds_fake.credentials_reply = lambda: Reply(200, instance)
    sts = serve(
        FakeSts(
            minted,
            keys={instance["AccessKeyId"]: instance["AccessKeySecret"]},
            tokens={instance["AccessKeyId"]: instance["SecurityToken"]},
        )
    )
    environ = {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_STS_ENDPOINT": sts.url,
        "ALIBABA_CLOUD_IMDS_ENDPOINT": imds.url,
    }
    credentials = default_provider(environ, clock=clock).get_credentials()
    assert credentials.access_key_id == "STS.minted0002"
    assert sts.requests[0].query["SecurityToken"] == instance["SecurityToken"]


def test_assume_role_without_base_credentials_is_unavailable(closed_port: int, tmp_path: Path) -> None:
    environ = {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "HOME": str(tmp_path),
        "ALIBABA_CLOUD_IMDS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
    }
    with pytest.raises(CredentialsUnavailable) as caught:
        default_provider(environ).get_credentials()
    assert str(caught.value).startswith(
        "credentials unavailable: ram_role_arn: no credentials to call AssumeRole "
        "with (credentials unavailable: no source gave credentials; explicit: "
    )


def test_oidc_variables_mean_no_assume_role_on_top(everything: dict, clock) -> None:
    provider = build(everything, ["environment", "oidc_role_arn"], clock)
    assert isinstance(provider.provider, CredentialsChain)
    assert provider.get_credentials().access_key_id == "LTAIenv"


def test_fifty_threads_through_the_default_provider_fetch_once(serve, minted, clock) -> None:
    imds = serve(FakeMetadataService(minted))
    provider = default_provider({"ALIBABA_CLOUD_IMDS_ENDPOINT": imds.url}, clock=clock)
    barrier = threading.Barrier(50)
    results: list[str] = []

    def work() -> None:
        barrier.wait(5)
        results.append(provider.get_credentials().access_key_id)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["STS.minted0001"] * 50
    assert sum(1 for r in imds.requests if r.path.endswith("/PresignRole")) == 1


def test_no_secret_in_any_error_or_repr(serve, minted, clock, tmp_path: Path, closed_port: int) -> None:
    secrets = ["SECRETleak0001", "TOKENleak0001+/=", "eyJ.leak.sig"]
    token_file = tmp_path / "token"
    token_file.write_text(secrets[2])
    sts = serve(FakeSts(minted, oidc_token="something-else"))
    ini = tmp_path / "creds.ini"
    ini.write_text(
        f"[default]\ntype = ram_role_arn\naccess_key_id = LTAIleak\naccess_key_secret = {secrets[0]}\n"
    )
    environ = {
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secrets[0],
        "ALIBABA_CLOUD_SECURITY_TOKEN": secrets[1],
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        "ALIBABA_CLOUD_STS_ENDPOINT": sts.url,
        "ALIBABA_CLOUD_IMDS_ENDPOINT": f"http://127.0.0.1:{closed_port}",
        "ALIBABA_CLOUD_CREDENTIALS_FILE": str(ini),
    }
    context = SimpleNamespace(credentials={"access_key_secret": secrets[0], "security_token": secrets[1]})
    provider = default_provider(
        environ,
        context=context,
        clock=clock,
        credentials=Credentials("STS.old", secrets[0], secrets[1], clock() - timedelta(1)),
    )
    with pytest.raises(CredentialsUnavailable) as caught:
        provider.get_credentials()
    shown = f"{caught.value} {caught.value!r} {provider!r} {provider.provider!r}"
    assert_no_secret(shown, secrets)
    assert "[failed]" in shown and "oidc_role_arn: STS AssumeRoleWithOIDC failed" in shown


def test_malformed_settings_fail_when_building() -> None:
    with pytest.raises(ConfigError) as caught:
        default_provider({"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "maybe"})
    assert caught.value.variable == "ALIBABA_CLOUD_ECS_METADATA_DISABLED"


def test_building_the_provider_imports_no_requests() -> None:
    code = (
        "import sys, shared.credentials as c; p = c.default_provider({'ALIBABA_CLOUD_ROLE_ARN': 'r'}); "
        "print('requests' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == "False"


# --- the network sources: built on first use unless the environment sets what they check ----------

class _EverythingElse(Mapping[str, str]):
    """An environment where every variable but ``unset`` holds a value no source would accept."""

    def __init__(self, unset: tuple[str, ...]) -> None:
        self.unset = unset

    def __getitem__(self, name: str) -> str:
        if name in self.unset:
            raise KeyError(name)
        return "maybe ftp://[bad"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@pytest.mark.parametrize("name", list(NETWORK_VARIABLES))
def test_a_network_source_without_its_checked_variables_cannot_fail_to_build(name: str) -> None:
    # What makes deferring it safe: whatever else the environment holds, building raises nothing.
    source = network_source(name, _EverythingElse(NETWORK_VARIABLES[name]), session=None, clock=None)
    assert source.name == name and DeferredSource(name, {}, session=None, clock=None).name == name


@pytest.mark.parametrize(("variable", "value"), [
    ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "maybe"), ("ALIBABA_CLOUD_IMDS_ENDPOINT", "ftp://imds"),
    ("ALIBABA_CLOUD_IMDSV1_DISABLED", "maybe"), ("ALIBABA_CLOUD_CREDENTIALS_URI", "ftp://creds"),
])
def test_a_checked_variable_is_checked_when_building(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        default_provider({variable: value})
    assert caught.value.variable == variable


def test_bad_oidc_role_options_fail_when_building(tmp_path: Path) -> None:
    environ = {"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_PROVIDER_ARN,
               "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(tmp_path / "token"),
               "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION": "12"}
    with pytest.raises(ConfigError) as caught:
        default_provider(environ)
    assert caught.value.variable == "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION"


def test_building_imports_no_network_source_the_environment_does_not_name() -> None:
    code = (
        "import sys, shared.credentials as c; p = c.default_provider({'HOME': '/nonexistent', "
        "'OSS_ACCESS_KEY_ID': 'LTAIx', 'OSS_ACCESS_KEY_SECRET': 'x'}); "
        "p.get_credentials(); import json; print(json.dumps([m for m in sys.modules if m.startswith('shared.')]))"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    loaded = {name.rsplit(".", 1)[1] for name in json.loads(result.stdout)}
    assert not loaded & {"imds", "profile", "sts", "uri", "rpc", "transport"}
    assert {"chain", "cache", "sources"} <= loaded
