"""OSS itself: Signature V4 and the facts about buckets, keys and URLs that signing depends on.

    canonical.py            the V4 steps, named after the spec (canonical request, string to sign, ...)
    signer.py               presigned URLs (presign) and Authorization headers (sign_request)
    presigner.py            a run of presigned URLs that differ only in key and parameters (sign --batch)
    post_policy.py          PostObject V4: the policy, its signature and the form fields (presign_post)
    endpoints.py            endpoints and addressing styles (virtual host, path style, custom domain)
    object_keys.py          which keys OSS stores and which a URL can carry
    expiry.py               how long a URL can really live (credentials, the 7-day limit, policy)
    limits.py               OSS's size limits that settings are checked against at cold start
    content_disposition.py  the response-content-disposition value for a download name
    issuer.py               presign with the runtime's credentials, for no longer than they live
    client.py               the few requests the functions send to OSS themselves (HEAD, GET)
    multipart.py            the multipart requests the presign function sends itself (initiate, list, complete, abort)
"""
