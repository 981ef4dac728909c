"""Which environment variables each deployed function reads: its wiring is built from an environment
that records every name looked up, and the sources are searched for every name any of them reads, so
that a variable added later (or read only on a path no build takes) fails the template tests."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping

from ros_template import ROOT

# Names read from an environ mapping that are not deployment configuration: the home folder the
# credentials file defaults to, and the CGI/WSGI request variables (PEP 3333) the WSGI adapter reads.
NOT_CONFIGURATION = frozenset({"HOME", "USERPROFILE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
                               "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
                               "REMOTE_ADDR", "REMOTE_HOST"})
# Function Compute sets these itself from the function role (a template value would shadow them).
PLATFORM_PROVIDED = frozenset({"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                               "ALIBABA_CLOUD_SECURITY_TOKEN"})
_ENVIRON_READ = re.compile(r"""environ\)?\s*(?:\.get\(\s*|\[\s*|,\s*)["']([A-Z][A-Z0-9_]*)["']""")
_PREFIXED = re.compile(r"""["']((?:OSS|PRESIGN|LINKS?|ON_CREATED|ALIBABA_CLOUD)_[A-Z0-9_]+)["']""")
_HEX = "0123456789abcdef" * 4
# A complete, valid configuration, so that every build reads all it can (a ConfigError stops reading).
SAMPLE = {
    "OSS_REGION": "cn-hangzhou", "OSS_BUCKET": "examplebucket",
    "PRESIGN_POLICY": '{"principals": {"*": [{"bucket": "examplebucket", "prefix": "reports/"}]}}',
    "PRESIGN_API_KEYS": f"reports-app:{_HEX}", "PRESIGN_JWT_SECRET": "a-jwt-secret-of-at-least-32-bytes!",
    "LINK_SIGNING_KEYS": "k1:a-link-secret-of-at-least-32-bytes", "LINK_BASE_URL": "https://links.example.com",
    "ON_CREATED_RULES": '[{"link": "redirect", "webhook": {"url": "https://hooks.example.com/oss", '
                        '"secret": "a webhook secret"}}]',
}


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name looked up in it (``get``, ``[]`` and ``in``)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the function walked its whole environment: the names it reads cannot be listed")

    def __len__(self) -> int:
        return len(self._values)


def _builders() -> dict[str, Callable[..., object]]:
    from shared.links.wiring import build_links_app
    from shared.object_created.wiring import build_on_created_handler
    from shared.presign.wiring import build_presign_app

    return {"presign": build_presign_app, "links": build_links_app, "on_object_created": build_on_created_handler}


def variables_each_function_reads() -> dict[str, frozenset[str]]:
    """Function folder -> every variable its cold start looks up, built from ``SAMPLE``."""
    from shared.http.api import BrokenApp
    from shared.object_created.wiring import BrokenHandler

    found = {}
    for folder, build in _builders().items():
        environ = RecordingEnviron(SAMPLE)
        built = build(environ, audit_stream=io.StringIO())
        assert not isinstance(built, (BrokenApp, BrokenHandler)), f"{folder}: SAMPLE is not a valid configuration"
        found[folder] = frozenset(environ.read - NOT_CONFIGURATION)
    return found


def variables_read(folder: str = "") -> set[str]:
    """Every configuration variable the deployed code (``shared/<folder>`` and ``functions/``, devtools
    left out: no zip holds them) names, by its calls on an environ mapping and by the variable-name
    constants it keeps (``VARIABLE = "LINK_SIGNING_KEYS"``)."""
    names: set[str] = set()
    base = ROOT / "shared" / folder
    deployed = [path for path in base.rglob("*.py") if "devtools" not in path.relative_to(ROOT).parts]
    for path in deployed + ([] if folder else list((ROOT / "functions").rglob("*.py"))):
        text = path.read_text("utf-8")
        names.update(_ENVIRON_READ.findall(text), _PREFIXED.findall(text))
    return {name for name in names if name not in NOT_CONFIGURATION and not name.startswith("HTTP_")}


def credential_chain_variables() -> frozenset[str]:
    """What the credentials chain reads. On Function Compute the invocation's own credentials (the
    function role's) come first, so the template passes none of these."""
    return frozenset(variables_read("credentials"))
