"""Suite-wide setup: the fixture modules beside this file are registered once as plugins, and every test's
captured output (stdout, stderr, logs) is scanned for the suite's secrets, tokens and signatures."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from presign_env import ACCESS_KEY, API_KEY, JWT_SECRET

# Fixture modules, importable because tests/ is on sys.path; test files take their fixtures by name.
pytest_plugins = ["browser", "http_servers", "stubs_credentials", "stubs_local_oss", "stubs_webhook", "demo_serve"]

# Secrets the suite's fixtures hand to the code under test; none may ever be printed or logged.
SECRETS = (ACCESS_KEY.access_key_secret, API_KEY, JWT_SECRET, "SECRETminted", "TOKENminted",
           "local-secret-0123456789", "cli-test-secret-0123456789", "cap-secret", "cap-token")
# A presigned URL's signature, wherever it appears in captured output.
SIGNATURE = re.compile(r"x-oss-signature=[0-9a-f]{64}|Signature=[0-9a-f]{64}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Fail a test whose captured output carries a secret, a token or a signature."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        return
    for section, text in report.sections:
        leaked = [secret for secret in SECRETS if secret in text] + SIGNATURE.findall(text)[:1]
        if leaked:
            report.outcome = "failed"
            report.longrepr = f"{section} carries a secret or a signature: {leaked[0][:12]}..."
            return
