"""The platform-neutral HTTP request and response, the one error boundary, and one adapter per platform shape.

    messages.py  HttpRequest, HttpResponse, the one JSON error shape
    routing.py   the route table lookup, the JSON body, the headers an error needs
    cors.py      which origins' pages may call (CORS): the preflight's answer, the headers on every answer
    api.py       the one error boundary every app answers through, its batch loop and refusal log line
    fc.py        FC 3.0 HTTP trigger and API Gateway events
    wsgi.py      WSGI (FC 2.0 HTTP functions, any WSGI server) and functions-framework
"""
