"""The library the functions share: OSS Signature V4 signing, credentials, policy and HTTP plumbing."""
