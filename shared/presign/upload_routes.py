"""The routes of Uppy's S3 protocol that the presign function serves (``shared.presign.uploads``).

Known at cold start, for routing, 405s and CORS preflights; the code that serves them is loaded by the
first upload request.
"""

from __future__ import annotations

UPLOAD_ROUTES = {
    "/s3/params": ("GET",),
    "/s3/multipart": ("POST",),
    "/s3/multipart/{uploadId}": ("GET", "DELETE"),
    "/s3/multipart/{uploadId}/batch": ("GET",),
    "/s3/multipart/{uploadId}/complete": ("POST",),
    "/s3/multipart/{uploadId}/{partNumber}": ("GET",),
}
