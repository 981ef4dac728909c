"""shared.http.routing: exact routes and routes with {name} path segments, their methods and parameters."""

from __future__ import annotations

import pytest

from shared.errors import MethodNotAllowed, NotFound
from shared.http.messages import HttpRequest
from shared.http.routing import find_route, match_route_params, route_methods

ROUTES = {"/s3/multipart": ("POST",), "/s3/multipart/{uploadId}": ("GET", "DELETE"),
          "/s3/multipart/{uploadId}/batch": ("GET",), "/s3/multipart/{uploadId}/complete": ("POST",),
          "/s3/multipart/{uploadId}/{partNumber}": ("GET",)}


@pytest.mark.parametrize(("path", "found"), [
    ("/s3/multipart", ("/s3/multipart", {})),
    ("/s3/multipart/", ("/s3/multipart", {})),
    ("/s3/multipart/ABC", ("/s3/multipart/{uploadId}", {"uploadId": "ABC"})),
    ("/s3/multipart/ABC/batch", ("/s3/multipart/{uploadId}/batch", {"uploadId": "ABC"})),
    ("/s3/multipart/ABC/complete/", ("/s3/multipart/{uploadId}/complete", {"uploadId": "ABC"})),
    ("/s3/multipart/ABC/7", ("/s3/multipart/{uploadId}/{partNumber}", {"uploadId": "ABC", "partNumber": "7"})),
    ("/s3/multipart//7", None), ("/s3/multipart/ABC/7/8", None), ("/s3/other/ABC", None),
], ids=["exact", "trailing-slash", "one-parameter", "literal-wins", "literal-trailing-slash", "two-parameters",
        "empty-segment", "too-long", "other"])
def test_find_route(path: str, found: object) -> None:
    assert find_route(path, ROUTES) == found
    assert route_methods(path, ROUTES) == (ROUTES[found[0]] if found else None)  # type: ignore[index]


def test_match_route_params_refuses_a_wrong_method_and_no_route() -> None:
    assert match_route_params(HttpRequest("DELETE", "/s3/multipart/X"), ROUTES) == ("/s3/multipart/{uploadId}",
                                                                                 {"uploadId": "X"})
    with pytest.raises(MethodNotAllowed) as wrong:
        match_route_params(HttpRequest("PUT", "/s3/multipart/X"), ROUTES)
    assert wrong.value.allowed == ("GET", "DELETE")
    with pytest.raises(NotFound):
        match_route_params(HttpRequest("GET", "/s3"), ROUTES)
