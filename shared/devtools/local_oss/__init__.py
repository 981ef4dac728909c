"""A local, signature-checking OSS bucket for development and end-to-end tests.

    addressing.py  request target -> ObjectRequest (virtual host or path style, strict decoding)
    verify.py      OSS Signature V4 checks, query and header authentication (pure)
    index.py       a bucket's SQLite index: tables, versions (migrations), object rows, connections kept and lent
    store.py       keys -> content files by id over the index; atomic PUT; request bodies copied with digests
    old_layout.py  the layout before the index (one file per key), read once to import it
    service.py     GET (Range), HEAD, PUT, DELETE over the store, after verify (no sockets); the stored-object hook
    exchange.py    Incoming and Reply, what the server and the service pass each other
    small_bodies.py  bodies read whole (bounded, digests checked) and their XML (no document types)
    cors.py        a bucket's CORS rules: the OSS XML, at most 10 rules, first match wins (pure)
    cors_api.py    ?cors (Put/Get/DeleteBucketCors), the OPTIONS preflight, the headers of actual requests
    form_data.py   multipart/form-data: fields before the file in memory (bounded), the file streamed
    post_verify.py a PostObject form's V4 signature, times, policy conditions and extra fields (pure)
    post_object.py PostObject: POST / verified, streamed into the store within content-length-range
    multipart_parts.py  uploads and parts, OSS's rules for completing, the multipart ETag (pure)
    multipart_store.py  multipart uploads in the index, parts as files; complete streams them into the object
    multipart_xml.py    the multipart XML answers and the CompleteMultipartUpload body (pure)
    multipart.py   Initiate, UploadPart, ListParts, Complete, Abort (?uploads, ?uploadId=), GET /?uploads
    events.py      ObjectStored, what the hook hears, and the OSS trigger event it makes
    framing.py     request bodies by Content-Length or chunked (decoded as read)
    server.py      LocalOss: the ThreadingHTTPServer, start()/stop() or a with block
    errors.py      OssError, the code -> status table and OSS's XML error body

Importing the package costs nothing until a name is used (PEP 562).
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {"LocalOss": "server", "ObjectStore": "store", "OssError": "errors", "ObjectRequest": "addressing"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
