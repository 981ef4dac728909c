"""functions-framework's Flask app, held to the limits of limits.py before any of its own code reads a request.

    guard_framework_app()   called by a ``main.py`` while functions-framework loads it (inside the app's context):
                            puts ``limit_wsgi`` in front of the app, sets Flask's MAX_CONTENT_LENGTH and answers
                            the framework's own errors (its 413, the 404 of ``/robots.txt``) in the JSON shape
    limit_wsgi(app)         WSGI middleware: 414/431/400/413 from the request head alone; a body within the
                            limit (by Content-Length, or chunked) read here and handed on in memory

functions-framework reads the whole body in an ``after_request`` hook, after our answer: refused here, a body
over the limit is never read (gunicorn closes the connection instead of draining it), and a body within it is
read once, here, where a client that stops sending it gets a 400 rather than the framework's 500.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shared.audit import AuditLog
from shared.clock import utc_now
from shared.errors import InvalidArgument, NotFound, PayloadTooLarge, PresignError
from shared.http.limits import check_environ, declared_length, is_streamed, read_bounded
from shared.http.messages import MAX_BODY_BYTES, HttpResponse, error_response, new_request_id
from shared.http.wsgi import respond

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]  # Any: PEP 3333's environ values


def limit_wsgi(app: WsgiApp, *, bodies: bool = True, audit: AuditLog | None = None) -> WsgiApp:
    """Wrap a WSGI app so that no request over a limit reaches it, and no body is read past MAX_BODY_BYTES;
    ``bodies=False`` leaves the body to an app that bounds it itself once it knows who asks (``/invoke``).
    Each refusal writes the one "refused" log line (to stderr unless ``audit`` says otherwise)."""
    log = audit or AuditLog(utc_now)

    def limited(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            check_environ(environ)
            length = declared_length(environ) if bodies else None
            if length is not None or (bodies and is_streamed(environ)):
                stream = environ["wsgi.input"]
                body = stream.read(length) if length is not None else read_bounded(stream)
                environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
                environ.pop("HTTP_TRANSFER_ENCODING", None)
        except PresignError as error:
            return respond(_refusal(log, environ, error), start_response)
        except OSError:  # the client stopped sending its body (the server's socket timeout) or went away
            stalled = InvalidArgument("body", "the request body stopped arriving before its end")
            return respond(_refusal(log, environ, stalled), start_response)
        return app(environ, start_response)

    return limited


def _refusal(audit: AuditLog, environ: Mapping[str, object], error: PresignError) -> HttpResponse:
    """The refusal's answer and its log line (no principal: nobody was authenticated yet)."""
    request_id = new_request_id()
    audit.write("refused", request_id=request_id, status=error.status, code=error.code, reason=error.message,
                method=str(environ.get("REQUEST_METHOD", ""))[:16], path=str(environ.get("PATH_INFO", ""))[:256],
                client_ip=str(environ.get("REMOTE_ADDR", "")))
    return error_response(error, request_id)


def guard_framework_app(*, bodies: bool = True) -> None:
    """Hold the functions-framework app now being built to the limits; outside functions-framework, nothing."""
    import flask
    from werkzeug.exceptions import HTTPException

    if not flask.has_app_context():
        return
    app = flask.current_app
    if bodies:  # Werkzeug's own bound too; an app that bounds its body itself reads wsgi.input as it stands
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # Outermost, before every hook; Flask types start_response as its own protocol, hence the ignore.
    app.wsgi_app = limit_wsgi(app.wsgi_app, bodies=bodies)  # type: ignore[method-assign, assignment, arg-type]
    app.register_error_handler(HTTPException, framework_error)


def framework_error(error: Exception) -> tuple[bytes, int, dict[str, str]]:
    """A Flask or Werkzeug HTTP error (raised by the framework, not by our apps) in the JSON error shape."""
    status = getattr(error, "code", None) or 500
    refusal: PresignError
    if status == 404:
        refusal = NotFound(code="NotFound")
    elif status == 413:
        refusal = PayloadTooLarge(f"request body is over {MAX_BODY_BYTES} bytes")
    elif 400 <= status < 500:
        refusal = InvalidArgument("request", "the request is malformed")
    else:
        refusal = PresignError("internal error")
    response = error_response(refusal, new_request_id())
    return response.body, response.status, response.headers
