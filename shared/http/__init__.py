"""The platform-neutral HTTP request and response, the one error boundary, and one adapter per platform shape.

    messages.py  HttpRequest, HttpResponse, the one JSON error shape
    routing.py   the route table lookup, the JSON body, the headers an error needs
    cors.py      which origins' pages may call (CORS): the preflight's answer, the headers on every answer
    api.py       the one error boundary every app answers through, its batch loop and refusal log line
    limits.py    what a request may bring before authentication: query, path, headers, body
    fc.py        FC 3.0 HTTP trigger and API Gateway events
    wsgi.py      WSGI (FC 2.0 HTTP functions, any WSGI server) and functions-framework
    framework.py functions-framework's Flask app held to the limits before its own hooks read anything
    gunicorn_worker.py, gunicorn_conf.py   the container path: gunicorn whose main loop, not a thread,
                 waits on idle and slow clients' request heads (imported only by gunicorn, never by a function)
"""
