"""``python -m shared``: the development tools' command line.

    sign      print presigned URLs, one or a batch
    explain   say whether a presigned URL is valid now, and if not why
    serve     serve the functions against a local, signature-checking bucket
    package   build one code zip per function for Function Compute
    keygen    print a fresh API key (and its PRESIGN_API_KEYS entry), link key, JWT secret or webhook secret
    token     print an HS256 JWT from PRESIGN_JWT_SECRET for trying the API
    upload    upload a file through the presign function's S3 routes: a form, or multipart and resumable

Only the command that runs is imported: signing one URL does not pay for the packager or the server.
Usage errors and missing credentials print one line on stderr and exit with status 2. A reader that
closes the pipe early (``| head -2``) ends the command quietly with status 1; Ctrl-C ends it with
status 130 (``shared/__main__.py``), neither with a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, NoReturn, Protocol

from shared.credentials import log as credentials_log
from shared.credentials.provider import CredentialsProvider
from shared.devtools.usage import USAGE_ERROR, Parser, UsageError
from shared.errors import PresignError

ProviderFactory = Callable[[Mapping[str, str]], CredentialsProvider]


class Command(Protocol):
    """What a command's module offers: its arguments and how to run it."""

    def configure(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace, *, environ: Mapping[str, str], stdin: IO[str], stdout: IO[str],
            provider_factory: ProviderFactory) -> int: ...


def _sign() -> Command:
    from shared.devtools import sign
    return sign


def _explain() -> Command:
    from shared.devtools import explain
    return explain


def _serve() -> Command:
    from shared.devtools import serve
    return serve


def _package() -> Command:
    from shared.devtools import package
    return package


def _keygen() -> Command:
    from shared.devtools import keygen
    return keygen


def _token() -> Command:
    from shared.devtools import token
    return token


def _upload() -> Command:
    from shared.devtools import upload
    return upload


# name: (the module that runs it, a one-line help, the description its --help shows)
COMMANDS: dict[str, tuple[Callable[[], Command], str, str]] = {
    "sign": (_sign, "print a presigned URL", "Print an OSS Signature V4 presigned URL for KEY."),
    "explain": (_explain, "say whether a presigned URL is valid now, and if not why",
                "Check a presigned URL as OSS would, with the credential chain's keys."),
    "serve": (_serve, "serve the functions against a local, signature-checking bucket",
              "Serve the functions on 127.0.0.1 against a local bucket that checks signatures, whose uploads "
              "reach the object-created function and a local webhook receiver (or the presign and links "
              "functions against real OSS when OSS_BUCKET is set)."),
    "package": (_package, "build one code zip per function for Function Compute",
                "One reproducible code zip per function for the Function Compute Python runtime."),
    "keygen": (_keygen, "print a fresh secret for the configuration",
               "Print a fresh secret: an API key and then its PRESIGN_API_KEYS entry (principal:sha256), a "
               "LINK_SIGNING_KEYS entry (kid:secret), a PRESIGN_JWT_SECRET secret, or a webhook secret."),
    "token": (_token, "print an HS256 JWT from PRESIGN_JWT_SECRET for trying the API",
              "Print an HS256 JWT for principal --sub, signed with the first secret of PRESIGN_JWT_SECRET."),
    "upload": (_upload, "upload a file through the presign function (multipart, resumable)",
               "Upload FILE through the presign function's S3 routes: one form upload up to 16 MiB, a multipart "
               "upload above (parts in parallel, each retried, resumable with --resume); print its key and ETag."),
}


def run() -> NoReturn:
    """``python -m shared``: run the command line and exit with its status."""
    # A failed command's one-line error names every credential source and why it failed; the
    # chain's warnings on the way there would only repeat it. (The credentials' log is the only one
    # below ERROR; silencing it there spares the commands the import of logging.)
    credentials_log.silence()
    try:
        status = main()
        sys.stdout.flush()  # a reader that went away is found here, not in the interpreter's teardown
    except BrokenPipeError:
        # The reader closed the pipe (``| head``): end quietly, as Python's documentation of SIGPIPE
        # advises; stdout goes to devnull so that the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    if _command_word(sys.argv[1:]) == "sign":
        # Once sign returns it holds no thread, file or process, so the interpreter's teardown would only
        # free memory: about a third of what its start-up costs. (serve's log threads may still write.)
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdin: IO[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
         provider_factory: ProviderFactory | None = None) -> int:
    """Run the command line; return the exit status."""
    environ = os.environ if environ is None else environ
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        chosen = _command_word(argv)
        # A command named first is all the top-level parser needs to know (--help before it lists them all).
        parser, command = _build_parser(chosen, alone=bool(argv) and argv[0] == chosen and chosen in COMMANDS)
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            where = f"python -m shared {args.command}" if args.command else "python -m shared"
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see: {where} --help)")
        if command is None:
            raise UsageError(f"name a command: {', '.join(COMMANDS)} (see: python -m shared --help)")
        return command.run(args, environ=environ, stdin=stdin, stdout=stdout,
                           provider_factory=provider_factory or _default_provider)
    except (UsageError, PresignError) as exc:
        stderr.write(f"error: {exc}\n")
        return USAGE_ERROR


def _command_word(argv: Sequence[str]) -> str | None:
    """The command the arguments name: the first that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def _build_parser(chosen: str | None, *, alone: bool = False) -> tuple[argparse.ArgumentParser, Command | None]:
    """Every command's name and help (or the chosen one's ``alone``); the arguments of the chosen one only."""
    parser = Parser(prog="python -m shared", description="The development tools: " + ", ".join(COMMANDS) + ".")
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    command = None
    for name, (load, summary, description) in COMMANDS.items():
        if alone and name != chosen:
            continue
        sub = commands.add_parser(name, help=summary, description=description)
        if name == chosen:
            command = load()
            command.configure(sub)
    return parser, command


def _default_provider(environ: Mapping[str, str]) -> CredentialsProvider:
    from shared.credentials.chain import default_provider
    return default_provider(environ)
