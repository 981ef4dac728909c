"""The README's webhook receiver, verbatim: verify X-Presign-Signature, refuse anything over 5 minutes old."""
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(BaseHTTPRequestHandler):
    secret = b"the rule's webhook secret"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        pairs = (item.split("=", 1) for item in self.headers.get("X-Presign-Signature", "").split(","))
        fields = dict(pair for pair in pairs if len(pair) == 2)
        t, v1 = fields.get("t", ""), fields.get("v1", "").encode("latin-1")
        expected = hmac.new(self.secret, t.encode("latin-1") + b"." + body, hashlib.sha256).hexdigest().encode()
        if not (t.isdecimal() and abs(time.time() - int(t)) <= 300 and hmac.compare_digest(expected, v1)):
            return self.send_error(401)
        self.send_response(self.accept(json.loads(body), self.headers["Idempotency-Key"]))
        self.end_headers()

    def accept(self, event, idempotency_key):
        print(idempotency_key, event["bucket"], event["key"], event["expires_at"])  # once per key
        return 204


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8080), Receiver).serve_forever()
