"""What ``serve`` configures the functions with, and the checks it makes before it starts anything.

    load_dev_settings       development keys, generated once per data folder (dev-settings.json, mode 0600)
    function_environment    the functions' normal configuration, pointed at the local bucket and receiver
    check_configuration     build each function's instance as its cold start would; refuse what would answer 500
    check_credentials       real OSS: the credential chain must find credentials now, not at the first request

Every refusal is a UsageError whose one line names the file or the variable to fix.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from shared.auth.authenticator import hash_api_key
from shared.auth.policy import OPTIONS
from shared.credentials.provider import CredentialsProvider
from shared.devtools.usage import UsageError
from shared.errors import ConfigError, PresignError

SETTINGS_FILE = "dev-settings.json"
FIELDS = ("access_key_id", "access_key_secret", "api_key", "link_key", "jwt_secret")
ADDED_LATER = ("jwt_secret",)  # a folder made by an older serve lacks these: they are generated and kept
PRINCIPAL = "dev"  # the policy's one principal, whose API key serve prints
DEV_MAX_SIZE = 1 << 30  # bytes: the development policy's limit on form (and multipart) uploads
# Variables of the caller's shell that would point the local functions elsewhere: the endpoint, the
# region, and credential sources (an ALIBABA_CLOUD_ROLE_ARN would assume a role on top of the dev keys).
NOT_INHERITED = ("OSS_", "ALIBABA_CLOUD_")


def check_data_folder(text: str) -> Path:
    """Make the data folder if needed; a UsageError naming ``--data`` when it is empty, a file or cannot be made."""
    if not text:  # Path("") is the working directory: a checkout would get the bucket and the keys
        raise UsageError("--data must name a folder for the local bucket (default ./.local-oss)")
    data = Path(text)
    if data.exists() and not data.is_dir():
        raise UsageError(f"--data {data} is a file; give a folder for the local bucket (default ./.local-oss)")
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--data {data}: cannot make the folder ({exc.strerror})") from None
    return data


def load_dev_settings(folder: Path) -> dict[str, str]:
    """The development keys kept in the folder, created on first run (mode 0600); UsageError when unusable."""
    path = folder / SETTINGS_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return _create(path)
    except (OSError, UnicodeError) as exc:
        raise _unusable(path, str(exc)) from None
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise _unusable(path, f"not JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise _unusable(path, "not a JSON object")
    missing = [name for name in ADDED_LATER if name not in settings]
    if missing:
        settings.update({name: _generated()[name] for name in missing})
        _write(path, settings, replace=True)
    wrong = [name for name in FIELDS if not isinstance(settings.get(name), str) or not settings[name]]
    if wrong:
        raise _unusable(path, f"{', '.join(wrong)} missing or not text")
    try:
        hash_api_key(settings["api_key"])
        _link_signer(settings["link_key"])
        _jwt_secrets(settings["jwt_secret"])
    except (ValueError, ConfigError) as exc:
        raise _unusable(path, str(exc)) from None
    return {name: settings[name] for name in FIELDS}


def _generated() -> dict[str, str]:
    return {"access_key_id": "LTAI5tDEV" + secrets.token_hex(6), "access_key_secret": secrets.token_urlsafe(24),
            "api_key": "dev-" + secrets.token_urlsafe(18), "link_key": "dev:" + secrets.token_urlsafe(32),
            "jwt_secret": secrets.token_urlsafe(48)}


def _create(path: Path) -> dict[str, str]:
    settings = _generated()
    _write(path, settings, replace=False)
    return settings


def _write(path: Path, settings: Mapping[str, object], *, replace: bool) -> None:
    """Write the settings with mode 0600: a new file, or (replace) a whole new version put in place at once."""
    target = path.with_name(path.name + ".new") if replace else path
    try:
        if replace:
            target.unlink(missing_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=1)
        if replace:
            os.replace(target, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _unusable(path: Path, reason: str) -> UsageError:
    return UsageError(f"{path} holds no usable development settings ({reason[:200]}); fix it, or delete it to "
                      "generate new keys")


def function_environment(inherited: Mapping[str, str], settings: Mapping[str, str], *, endpoint: str, bucket: str,
                         region: str, links_url: str, webhook_url: str, webhook_secret: str,
                         invoke_token: str, cors_origins: Sequence[str] = ()) -> dict[str, str]:
    """The caller's environment (less NOT_INHERITED) with the functions' configuration for the local bucket."""
    policy = {"principals": {PRINCIPAL: [{"bucket": bucket, "prefix": "", "methods": ["GET", "HEAD", "PUT", "POST"],
                                          "max_size": DEV_MAX_SIZE, "allow": list(OPTIONS)}]}}
    rules = [{"prefix": "", "link": "presigned", "expires": 3600,
              "webhook": {"url": webhook_url, "secret": webhook_secret}}]
    kept = {name: value for name, value in inherited.items() if not name.startswith(NOT_INHERITED)}
    return {
        **kept,
        "OSS_ENDPOINT": endpoint, "OSS_REGION": region, "OSS_BUCKET": bucket,
        "OSS_ACCESS_KEY_ID": settings["access_key_id"], "OSS_ACCESS_KEY_SECRET": settings["access_key_secret"],
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "PRESIGN_API_KEYS": f"{PRINCIPAL}:{hash_api_key(settings['api_key'])}",
        "PRESIGN_POLICY": json.dumps(policy), "LINK_SIGNING_KEYS": settings["link_key"], "LINK_BASE_URL": links_url,
        "ON_CREATED_RULES": json.dumps(rules), "ON_CREATED_INVOKE_TOKEN": invoke_token,
        "PRESIGN_JWT_SECRET": kept.get("PRESIGN_JWT_SECRET") or settings["jwt_secret"],
        **cors_environment(kept, cors_origins),
    }


def cors_environment(inherited: Mapping[str, str], origins: Sequence[str]) -> dict[str, str]:
    """PRESIGN_CORS_ORIGINS and LINKS_CORS_ORIGINS: the environment's own lists with serve's origins added."""
    found = {}
    for variable in ("PRESIGN_CORS_ORIGINS", "LINKS_CORS_ORIGINS"):
        own = [origin.strip() for origin in inherited.get(variable, "").split(",") if origin.strip()]
        found[variable] = "*" if own == ["*"] else ",".join(dict.fromkeys([*own, *origins]))
    return found


def check_configuration(environ: Mapping[str, str], targets: Sequence[str], *, real: bool) -> None:
    """Build each function's instance from environ, as its cold start would; a UsageError for a broken one."""
    for target in targets:
        error = _config_error(target, environ)
        if error is None:
            continue
        named = error.message if error.variable in error.message else f"{error.variable}: {error.message}"
        where = ("OSS_BUCKET is set, so serve runs the functions against real OSS with this environment, but "
                 if real else "")
        raise UsageError(f"{where}the {target} function's configuration is wrong: {named}")


def _config_error(target: str, environ: Mapping[str, str]) -> ConfigError | None:
    from shared.http.api import BrokenApp
    from shared.object_created.wiring import BrokenHandler

    built: object = _builders()[target](environ)
    error = built.error if isinstance(built, (BrokenApp, BrokenHandler)) else None
    return error if isinstance(error, ConfigError) else None


def _builders() -> dict[str, Callable[[Mapping[str, str]], object]]:
    from shared.links.wiring import build_links_app
    from shared.object_created.wiring import build_on_created_handler
    from shared.presign.wiring import build_presign_app

    quiet = io.StringIO  # a broken instance's log line is not serve's to print
    return {"presign": lambda environ: build_presign_app(environ, audit_stream=quiet()),
            "links": lambda environ: build_links_app(environ, audit_stream=quiet()),
            "on_object_created": lambda environ: build_on_created_handler(environ, audit_stream=quiet())}


def check_credentials(environ: Mapping[str, str],
                      provider_factory: Callable[[Mapping[str, str]], CredentialsProvider]) -> None:
    """Real OSS: the functions' credential chain must find credentials now; a UsageError naming what it tried."""
    try:
        provider_factory(environ).get_credentials()
    except PresignError as exc:
        raise UsageError(f"OSS_BUCKET is set, so serve signs for real OSS, but there are no credentials to sign "
                         f"with: {exc.message}") from None


def _jwt_secrets(secret: str) -> None:
    from shared.auth.jwt import MIN_SECRET_BYTES

    if len(secret.encode()) < MIN_SECRET_BYTES or "," in secret:
        raise ValueError(f"jwt_secret must be one secret of at least {MIN_SECRET_BYTES} bytes")


def _link_signer(keys: str) -> object:
    from shared.links.tokens import LinkSigner

    return LinkSigner.from_setting(keys)
