"""Endpoint parsing and the URL each addressing style produces."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.credentials import Credentials
from shared.oss.endpoints import CNAME, PATH, VIRTUAL, bucket_site, default_endpoint, parse_endpoint
from shared.oss.signer import presign

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
CREDS = Credentials("AK", "SK")


@pytest.mark.parametrize(
    ("endpoint", "options", "prefix"),
    [
        ("oss-cn-hangzhou.aliyuncs.com", {}, "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/k.txt?"),
        ("oss-cn-hangzhou-internal.aliyuncs.com", {}, "https://examplebucket.oss-cn-hangzhou-internal.aliyuncs.com/dir/k.txt?"),
        ("oss-accelerate.aliyuncs.com", {}, "https://examplebucket.oss-accelerate.aliyuncs.com/dir/k.txt?"),
        ("http://OSS-cn-hangzhou.aliyuncs.com", {}, "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/k.txt?"),
        ("oss-cn-hangzhou.aliyuncs.com", {"path_style": True}, "https://oss-cn-hangzhou.aliyuncs.com/examplebucket/dir/k.txt?"),
        ("static.example.com", {"cname": True}, "https://static.example.com/dir/k.txt?"),
        ("http://static.example.com:8080/", {"cname": True}, "http://static.example.com:8080/dir/k.txt?"),
        ("http://127.0.0.1:8080", {}, "http://127.0.0.1:8080/examplebucket/dir/k.txt?"),
        ("localhost:9000", {}, "https://localhost:9000/examplebucket/dir/k.txt?"),
        ("http://[::1]:9000", {}, "http://[::1]:9000/examplebucket/dir/k.txt?"),
        (None, {}, "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/k.txt?"),
    ],
)
def test_url_prefix_per_addressing_style(endpoint: str | None, options: dict, prefix: str) -> None:
    result = presign(CREDS, bucket="examplebucket", key="dir/k.txt", region="cn-hangzhou",
                     endpoint=endpoint, signing_time=AT, **options)
    assert result.url.startswith(prefix)


def test_cloudbox_default_endpoint_and_scope() -> None:
    result = presign(CREDS, bucket="examplebucket", key="k", region="cn-hangzhou", cloudbox_id="cb-123",
                     signing_time=AT)
    assert result.url.startswith("https://examplebucket.cb-123.cn-hangzhou.oss-cloudbox.aliyuncs.com/k?")
    assert "20250304/cb-123/oss-cloudbox/aliyun_v4_request" in result.string_to_sign


def test_styles() -> None:
    assert parse_endpoint("oss-cn-hangzhou.aliyuncs.com").style == VIRTUAL
    assert parse_endpoint("10.0.0.1").style == PATH
    assert parse_endpoint("a.example.com", cname=True).style == CNAME
    assert parse_endpoint("app.localhost").style == PATH


def test_default_endpoints() -> None:
    assert default_endpoint("cn-beijing") == "oss-cn-beijing.aliyuncs.com"
    assert default_endpoint("cn-beijing", internal=True) == "oss-cn-beijing-internal.aliyuncs.com"


@pytest.mark.parametrize("region", ["cn-hangzhou", "CN-Beijing", "ap-southeast-1", "x", "us-east-1"])
@pytest.mark.parametrize("path_style", [False, True], ids=["virtual", "path"])
def test_the_default_endpoint_is_what_parsing_it_gives(region: str, path_style: bool) -> None:
    # The signer builds a region's default endpoint without parsing it (urllib.parse stays out of cold starts).
    parsed = parse_endpoint(default_endpoint(region), path_style=path_style)
    site = bucket_site("examplebucket", region, None, False, path_style, None, None)
    assert site.base_url == parsed.base_url("examplebucket")
    assert site.base_url == bucket_site("examplebucket", region, default_endpoint(region), False, path_style, None,
                                        None).base_url
