"""Parsing and checking the fields of a /presign request."""

from __future__ import annotations

import pytest

from shared.errors import InvalidArgument
from shared.presign.request import PresignRequest


def parse(**given: object) -> PresignRequest:
    return PresignRequest.parse(given, default_bucket="examplebucket", default_expires=900)


def test_defaults() -> None:
    order = parse(key="a.txt")
    assert (order.bucket, order.method, order.expires, order.redirect) == ("examplebucket", "GET", 900, False)
    assert order.options() == frozenset() and order.signing_parts("") == ({}, {})


def test_query_strings_convert() -> None:
    order = parse(key="a.txt", expires="600", bind_ip="true", check_exists="1", redirect="yes", method="head",
                  traffic_limit="819200")
    assert (order.expires, order.bind_ip, order.check_exists, order.redirect, order.method) == (
        600, True, True, True, "HEAD")
    assert order.options() == {"bind_ip", "check_exists", "traffic_limit"}


def test_get_options_become_signed_parameters() -> None:
    order = parse(key="a.pdf", filename="é.pdf", disposition="inline", content_type="application/pdf",
                  version_id="v1", process="image/resize,w_10", traffic_limit=819200, bind_ip=True)
    headers, params = order.signing_parts("198.51.100.1")
    assert headers == {}
    assert params == {"response-content-disposition": "inline; filename=\"_.pdf\"; filename*=UTF-8''%C3%A9.pdf",
                      "response-content-type": "application/pdf", "versionId": "v1",
                      "x-oss-process": "image/resize,w_10", "x-oss-traffic-limit": "819200",
                      "x-oss-ac-source-ip": "198.51.100.1"}
    assert order.options() == {"filename", "content_type", "version_id", "process", "traffic_limit", "bind_ip"}


def test_put_options_become_signed_headers() -> None:
    order = parse(key="up.bin", method="PUT", content_type="text/plain", content_md5="eB5eJF1ptWaXm4bijSPyxw==",
                  meta={"Author": "alice"})
    headers, params = order.signing_parts("")
    assert headers == {"Content-Type": "text/plain", "Content-MD5": "eB5eJF1ptWaXm4bijSPyxw==",
                       "x-oss-meta-author": "alice"}
    assert params == {} and order.options() == {"content_type", "meta"}


@pytest.mark.parametrize(
    ("given", "field", "fragment"),
    [
        ({}, "key", "key is required"),
        ({"key": ""}, "key", "must not be empty"),
        ({"key": "x" * 1024}, "key", "at most 1023"),
        ({"key": "é" * 600}, "key", "got 1200"),
        ({"key": "/abs"}, "key", "must not start"),
        ({"key": ".."}, "key", "dot segment"),
        ({"key": "a\r\nb"}, "key", "control characters"),
        ({"key": "a\x00b"}, "key", "control characters"),
        ({"key": "a\ud800"}, "key", "lone surrogate"),
        ({"key": 5}, "key", "must be a string"),
        ({"key": "a", "bucket": "Bad"}, "bucket", "not a valid name"),
        ({"key": "a", "method": "DELETE"}, "method", "GET, HEAD, PUT"),
        ({"key": "a", "expires": 0}, "expires", "1..31536000"),
        ({"key": "a", "expires": -1}, "expires", "1..31536000"),
        ({"key": "a", "expires": 1.5}, "expires", "whole number"),
        ({"key": "a", "expires": "1e3"}, "expires", "whole number"),
        ({"key": "a", "expires": True}, "expires", "whole number"),
        ({"key": "a", "expires": 10**30}, "expires", "1..31536000"),
        ({"key": "a", "colour": "red"}, "colour", "unknown field"),
        ({"key": "a", "filename": "a\nb"}, "filename", "control characters"),
        ({"key": "a", "filename": "x" * 256}, "filename", "at most 255"),
        ({"key": "a", "disposition": "inline"}, "disposition", "needs a filename"),
        ({"key": "a", "filename": "f", "disposition": "evil"}, "disposition", "inline, attachment"),
        ({"key": "a", "content_type": "nonsense"}, "content_type", "type/subtype"),
        ({"key": "a", "content_type": "text/plain\r\nX: y"}, "content_type", "control characters"),
        ({"key": "a", "traffic_limit": 5}, "traffic_limit", "819200..838860800"),
        ({"key": "a", "bind_ip": "maybe"}, "bind_ip", "true or false"),
        ({"key": "a", "content_md5": "abc"}, "content_md5", "applies to PUT only"),
        ({"key": "a", "method": "PUT", "content_md5": "abc"}, "content_md5", "16-byte MD5"),
        ({"key": "a", "method": "PUT", "meta": "x"}, "meta", "must be an object"),
        ({"key": "a", "method": "PUT", "meta": {"bad name": "v"}}, "meta", "letters, digits"),
        ({"key": "a", "method": "PUT", "meta": {"a": "é"}}, "meta.a", "ASCII"),
        ({"key": "a", "method": "PUT", "filename": "f"}, "filename", "not PUT"),
        ({"key": "a", "method": "PUT", "redirect": True}, "redirect", "not PUT"),
        ({"key": "a", "version_id": "v\x7f"}, "version_id", "control characters"),
    ],
)
def test_each_bad_field_is_named(given: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse(**given)
    assert caught.value.field == field and fragment in caught.value.message


def test_bind_ip_without_a_client_address() -> None:
    with pytest.raises(InvalidArgument):
        parse(key="a", bind_ip=True).signing_parts("")
