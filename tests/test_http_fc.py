"""The Function Compute and API Gateway event adapter with the sample events and variants built from them."""

from __future__ import annotations

import base64
import json

import pytest
from events import apigw_event, fc3_event, load_event

from shared.errors import InvalidArgument, PayloadTooLarge
from shared.http.fc import request_from_event, response_to_event
from shared.http.messages import MAX_BODY_BYTES, HttpResponse


def test_fc3_sample_event() -> None:
    request = request_from_event(load_event("fc3_http_trigger"))
    assert (request.method, request.path) == ("GET", "/presign")
    assert request.query == {"key": ["reports/2024/q4 summary.pdf"], "expires": ["600"]}
    assert request.headers["authorization"] == "Bearer <token>"
    assert request.client_ip == "203.0.113.7"
    assert request.request_id == "1-64f6cd87-0d3c9a1e2b4f5a6c7d8e9f01"


@pytest.mark.parametrize("form", ["dict", "str", "bytes"])
def test_event_arrives_as_dict_str_or_bytes(form: str) -> None:
    event = load_event("apigw_trigger")
    given = {"dict": event, "str": json.dumps(event), "bytes": json.dumps(event).encode()}[form]
    request = request_from_event(given)
    assert request.method == "POST" and json.loads(request.body) == {"key": "images/cat.jpg", "expires": 300}
    assert request.client_request_id == "5F2A1B3C-0000-4A4B-9C8D-123456789ABC"  # a header: only logged
    assert request.headers["x-api-key"] == "<api key>"


@pytest.mark.parametrize("encoded", [True, "true", "TRUE"])
def test_api_gateway_base64_flag_as_bool_or_string(encoded: object) -> None:
    request = request_from_event(apigw_event(body={"key": "a"}, encoded=encoded))
    assert json.loads(request.body) == {"key": "a"}


def test_api_gateway_plain_body_and_client_ip() -> None:
    event = apigw_event(body={"key": "a"}, encoded=False,
                        headers={"X-Forwarded-For": "198.51.100.9, 10.0.0.1", "Content-Type": "application/json"})
    request = request_from_event(event)
    assert json.loads(request.body) == {"key": "a"} and request.client_ip == "198.51.100.9"


def test_fc3_base64_body_any_header_case_and_comma_joined_query() -> None:
    event = fc3_event("POST", headers={"CONTENT-TYPE": "application/json", "x-API-key": "k"},
                      body='{"key": "中文"}', base64_body=True, query={"expires": "60,120"})
    request = request_from_event(event)
    assert request.headers == {"content-type": "application/json", "x-api-key": "k"}
    assert json.loads(request.body) == {"key": "中文"}
    assert request.query == {"expires": ["60,120"]}


def test_fc3_raw_path_is_decoded() -> None:
    request = request_from_event(fc3_event(path="/pre%73ign"))
    assert request.path == "/presign"


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        (b"\xff\xfe", "UTF-8"), ("{not json", "valid JSON"), ("[1, 2]", "JSON object"), (42, "must be JSON"),
        ({"hello": "world"}, "neither"), ({"httpMethod": 1, "path": "/"}, "httpMethod must be a string"),
        ({"httpMethod": "GET", "path": "/", "headers": []}, "headers must be an object"),
        ({"httpMethod": "GET", "path": "/", "queryParameters": "x"}, "queryParameters must be an object"),
        ({"httpMethod": "GET", "path": "/", "body": 5}, "body must be a string"),
        ({"httpMethod": "GET", "path": "/", "body": "!!!", "isBase64Encoded": True}, "not valid base64"),
    ],
)
def test_bad_events_are_invalid_arguments(event: object, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        request_from_event(event)  # type: ignore[arg-type]
    assert fragment in caught.value.message


def test_oversized_event_body() -> None:
    event = apigw_event(encoded=False)
    event["body"] = "x" * (MAX_BODY_BYTES + 1)
    with pytest.raises(PayloadTooLarge):
        request_from_event(event)


def test_response_to_event_drops_reserved_headers_and_encodes_binary() -> None:
    text = response_to_event(HttpResponse(200, {"Content-Type": "application/json", "X-Fc-Trace": "1"}, b'{"a":1}'))
    assert text == {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"a":1}',
                    "isBase64Encoded": False}
    binary = response_to_event(HttpResponse(200, {}, b"\xff\x00"))
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\xff\x00"
