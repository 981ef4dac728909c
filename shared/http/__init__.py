"""The platform-neutral HTTP request and response, and one adapter per platform shape."""
