"""Who is asking and what they may do.

    authenticator.py  API keys (stored as SHA-256), HS256 JWT, a trusted gateway's header -> Principal
    jwt.py            HS256 JSON Web Tokens: verify (and encode, for tests and tools)
    policy.py         PRESIGN_POLICY: rules per principal, default deny
"""
