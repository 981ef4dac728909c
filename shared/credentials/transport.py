"""One HTTP call for the network sources, with every ``requests`` failure turned into CredentialsError.

``requests`` is imported here, inside the call, and nowhere at module level: importing
``shared.credentials`` must stay cheap for serverless cold starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.credentials.provider import SourceNotConfigured
from shared.errors import ConfigError, CredentialsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at cold start; mypy reads it as True
if TYPE_CHECKING:
    from typing import Any


def where(url: str) -> str:
    """Return scheme://host[:port]/path of a URL: where it goes, without a query that may hold a secret."""
    from urllib.parse import urlsplit  # the network sources' imports wait until a source is used or set

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def send(
    session: Any,
    source: str,
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    unreachable_means_absent: bool = False,
    direct: bool = False,
) -> Any:
    """Send one request and return the response; a failure raises CredentialsError naming the source.

    With ``unreachable_means_absent``, a refused or timed-out connection raises SourceNotConfigured
    instead: for the metadata service, no answer at all means "not on ECS". With ``direct``, any
    HTTP(S)_PROXY of the environment is bypassed: the link-local metadata service is never proxied.
    """
    import requests

    client = session if session is not None else requests
    proxies = {"http": None, "https": None} if direct else None  # None values switch env proxies off
    try:
        return client.request(method, url, headers=dict(headers or {}), data=data, timeout=timeout,
                              allow_redirects=False, proxies=proxies)
    # "from None" throughout: requests' own messages quote the full URL, query (and token) included.
    except requests.ConnectionError as exc:
        error = SourceNotConfigured if unreachable_means_absent else CredentialsError
        raise error(source, f"cannot connect to {where(url)} ({_cause(exc)})") from None
    except requests.Timeout:
        raise CredentialsError(source, f"{where(url)} did not answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise CredentialsError(source, f"request to {where(url)} failed ({type(exc).__name__})") from None


def _cause(exc: Exception) -> str:
    """Name why a connection failed, in words that carry no URL query."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    return "connection refused or no route"


def base_url(variable: str, value: str, *, default_scheme: str) -> str:
    """Check an endpoint override of the form scheme://host[:port]; return it without a trailing '/'."""
    from urllib.parse import urlsplit

    text = value.strip()
    if "://" not in text:
        text = f"{default_scheme}://{text}"
    try:
        parts = urlsplit(text)
        well_formed = parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc
    except ValueError:  # an unclosed or invalid [IPv6] host: the instance must still start and say why
        well_formed = False
    if not (well_formed and _port_ok(parts.netloc) and parts.path in ("", "/")
            and not parts.query and not parts.fragment):
        raise ConfigError(variable, f"{variable} must look like scheme://host[:port], got {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _port_ok(netloc: str) -> bool:
    """Tell whether the port of host[:port], if any, is a number in 1..65535."""
    from urllib.parse import urlsplit

    try:
        port = urlsplit(f"//{netloc}").port
    except ValueError:
        return False
    return port is None or port > 0
