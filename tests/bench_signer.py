"""Benchmark the signer against a floor loop and its import time against a bare interpreter.

Run: ``python3 tests/bench_signer.py``. Not collected by pytest (the name does not start with
``test_``). Figures are ratios within one run, because this machine is shared and noisy.

- signer: URLs/s for a GET with two response-* parameters (warm signing-key cache);
- floor: URLs/s of the unavoidable work only: one quote of the key, one SHA-256, one HMAC and
  the string joins; the signer, the floor and the lean floor are timed in alternating rounds, so
  that the machine's drift falls on all three alike;
- import: median wall time of ``python -c "import shared.oss.signer"`` beside ``python -c pass``,
  runs interleaved; plus ``-X importtime``'s own cumulative figure for the module.

Targets: signer >= 0.80 x floor (issue 14); importing the signer adds < 15 ms (issue 2).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.credentials.value import Credentials  # noqa: E402
from shared.oss.signer import presign  # noqa: E402

CREDS = Credentials("LTAI5tFAKEaccessKeyID0001", "FAKEsecretKEY0123456789abcdefXYZ")
AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
KEY = "reports/2025/q1 summary.pdf"
PARAMS = {"response-content-disposition": 'attachment; filename="q1.pdf"', "response-content-type": "application/pdf"}


def _signer_once() -> str:
    return presign(CREDS, bucket="examplebucket", key=KEY, region="cn-hangzhou", signing_time=AT,
                   expires=900, params=PARAMS).url


_SIGNING_KEY = b"k" * 32
_SCOPE = "20250304/cn-hangzhou/oss/aliyun_v4_request"


def _floor_once() -> str:
    path = quote(KEY.encode(), safe="/")
    canonical = "\n".join(("GET", "/examplebucket/" + path, "x-oss-date=20250304T050607Z", "", "", "UNSIGNED-PAYLOAD"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join(("OSS4-HMAC-SHA256", "20250304T050607Z", _SCOPE, digest))
    signature = hmac.new(_SIGNING_KEY, to_sign.encode(), hashlib.sha256).hexdigest()
    return "".join(("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/", path, "?", "q", "&x-oss-signature=",
                    signature))


_TABLE = [chr(b) if chr(b).isalnum() or chr(b) in "-_.~/" else f"%{b:02X}" for b in range(128)]


def _lean_floor_once() -> str:
    """The floor again, quoting with str.translate (the trick the signer uses) instead of quote()."""
    path = KEY.translate(_TABLE)
    canonical = "\n".join(("GET", "/examplebucket/" + path, "x-oss-date=20250304T050607Z", "", "", "UNSIGNED-PAYLOAD"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join(("OSS4-HMAC-SHA256", "20250304T050607Z", _SCOPE, digest))
    signature = hmac.new(_SIGNING_KEY, to_sign.encode(), hashlib.sha256).hexdigest()
    return "".join(("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/", path, "?", "q", "&x-oss-signature=",
                    signature))


def _rates(*fns, seconds: float = 1.0) -> list[float]:
    """Best of five rounds of calls per second for each function, one round of each in turn."""
    best = [0.0] * len(fns)
    for _ in range(5):
        for index, fn in enumerate(fns):
            count, start = 0, time.perf_counter()
            deadline = start + seconds / 5
            while time.perf_counter() < deadline:
                for _ in range(200):
                    fn()
                count += 200
            best[index] = max(best[index], count / (time.perf_counter() - start))
    return best


# Bytecode is cached (in a scratch folder, not the tree) as it is on a warm deployment; a machine
# that sets PYTHONDONTWRITEBYTECODE would otherwise measure the compiler, not the import.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")


def _wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=_ENV)
    return time.perf_counter() - start


def _import_cost(runs: int = 40) -> tuple[float, float, float]:
    _wall("import shared.oss.signer")  # fill the bytecode cache
    bare, signer = [], []
    for _ in range(runs):
        bare.append(_wall("pass"))
        signer.append(_wall("import shared.oss.signer"))
    return statistics.median(bare) * 1000, statistics.median(signer) * 1000, _importtime_ms()


def _importtime_ms() -> float:
    """Cumulative microseconds that ``-X importtime`` reports for shared.oss.signer, in ms."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import shared.oss.signer"],
                          capture_output=True, text=True, cwd=ROOT, check=True, env=_ENV)
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "shared.oss.signer":
            return int(parts[1]) / 1000
    return float("nan")


def main() -> None:
    _signer_once(), _floor_once()
    signer, floor, lean = _rates(_signer_once, _floor_once, _lean_floor_once)
    print(f"signer: {signer:,.0f} URLs/s")
    print(f"floor:  {floor:,.0f} URLs/s (urllib.parse.quote)")
    print(f"ratio:  {signer / floor:.2f} x floor (target >= 0.80)")
    print(f"lean floor (str.translate quoting): {lean:,.0f} URLs/s; signer is {signer / lean:.2f} x that")
    bare, with_signer, cumulative = _import_cost()
    print(f"import: python -c pass {bare:.1f} ms, import shared.oss.signer {with_signer:.1f} ms, "
          f"adds {with_signer - bare:.1f} ms (target < 15); -X importtime cumulative {cumulative:.1f} ms")


if __name__ == "__main__":
    main()
