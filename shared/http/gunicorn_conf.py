"""gunicorn settings for a function in a container or a custom runtime, served the way functions-framework
loads it but with a worker and limits that hold against idle, slow and oversized requests:

    FUNCTION_TARGET=presign FUNCTION_SOURCE=functions/presign/main.py \\
        gunicorn -c shared/http/gunicorn_conf.py --bind 0.0.0.0:9000

(``links`` and ``on_object_created`` the same way; gunicorn's own flags after ``-c`` override any line here.)
The worker is gunicorn_worker.BoundedThreadWorker; gunicorn's request-line check is left to it (gunicorn
clamps any limit to 8190 bytes, below a 16 KiB query), and a header line may be as long as the whole block.
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:  # gunicorn reads this file before its pythonpath setting takes effect
    sys.path.insert(0, _ROOT)

from shared.http.limits import MAX_HEADER_BYTES, MAX_HEADER_FIELDS  # noqa: E402

wsgi_app = "functions_framework:create_app()"  # FUNCTION_TARGET and FUNCTION_SOURCE name the function
pythonpath = _ROOT
worker_class = "shared.http.gunicorn_worker.BoundedThreadWorker"
workers = 1
threads = 8  # threads serve requests whose head has arrived: idle and slow connections hold none
worker_connections = 1000  # connections open at once per worker; beyond it they wait in the listen backlog
keepalive = 5  # seconds an idle kept-alive connection stays open
timeout = 30  # seconds before the arbiter restarts a worker whose main loop stopped answering
graceful_timeout = 10
limit_request_line = 0  # the worker bounds the request line (MAX_REQUEST_LINE_BYTES): see above
limit_request_fields = MAX_HEADER_FIELDS + 1  # one more than ours, so that our JSON 431 answers first
limit_request_field_size = MAX_HEADER_BYTES
loglevel = "warning"
