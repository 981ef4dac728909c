"""The CORS rule the README tells users to put on their OSS bucket is one the local bucket (which reads
OSS's XML as OSS does) accepts, and it grants what browser uploads and downloads need."""

from __future__ import annotations

import re

from processes import ROOT

from shared.devtools.local_oss.cors import parse_cors_xml

README = (ROOT / "README.md").read_text("utf-8")


def test_the_readme_bucket_cors_rule_allows_browser_uploads_and_downloads() -> None:
    found = re.search(r"<<'XML'\n(.*?)\nXML\n", README, re.S)
    assert found, "README.md shows the bucket's CORS rule as a here-document"
    config = parse_cors_xml(found.group(1).encode())
    (rule,) = config.rules
    assert set(rule.allowed_methods) == {"GET", "HEAD", "PUT", "POST"}
    assert rule.allowed_headers == ("*",)
    assert {"ETag", "Location"} <= set(rule.expose_headers)
    assert config.response_vary
