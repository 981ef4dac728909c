"""``python -m shared sign``: output shapes, batch mode, defaults, and one-line errors with exit 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from stubs_credentials import Reply

from shared.devtools.cli import main
from shared.devtools.sign import parse_time
from shared.errors import InvalidArgument

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"OSS_ACCESS_KEY_ID": "LTAI5tCLIkey", "OSS_ACCESS_KEY_SECRET": "cli-test-secret-0123456789"}
# Keep the chain on this machine: no metadata service, no credentials file of the developer's.
ISOLATED = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            "ALIBABA_CLOUD_CREDENTIALS_FILE": "/nonexistent/credentials.ini", "HOME": "/nonexistent"}


def run(argv: list[str], env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {**ISOLATED, **KEYS, **(env if env is not None else {})}
    status = main(argv, environ=environ, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_prints_the_url() -> None:
    status, out, err = run(["sign", "a b+c.txt", "--bucket", "examplebucket", "--region", "cn-hangzhou",
                            "--at", "2025-03-04T05:06:07Z", "--expires", "60"])
    assert (status, err) == (0, "")
    url = urlsplit(out.strip())
    assert url.netloc == "examplebucket.oss-cn-hangzhou.aliyuncs.com" and url.path == "/a%20b%2Bc.txt"
    assert "x-oss-date=20250304T050607Z" in url.query and "x-oss-expires=60" in url.query


def test_json_output_and_every_flag() -> None:
    status, out, _ = run(["sign", "up/load.bin", "--bucket", "examplebucket", "--region", "cn-hangzhou",
                          "--endpoint", "http://127.0.0.1:9000", "--method", "put", "--at", "20250304T050607Z",
                          "--header", "Content-Type: text/plain", "--header", "Cache-Control: no-cache",
                          "--additional-header", "cache-control", "--param", "x-oss-process=image/resize,w_1",
                          "--path-style", "--json"])
    assert status == 0
    result = json.loads(out)
    assert set(result) == {"url", "method", "expires_at", "signed_headers"}
    assert result["method"] == "PUT" and result["expires_at"] == "2025-03-04T05:21:07Z"
    assert result["signed_headers"] == {"content-type": "text/plain", "cache-control": "no-cache"}
    assert result["url"].startswith("http://127.0.0.1:9000/examplebucket/up/load.bin?")
    assert "x-oss-additional-headers=cache-control" in result["url"]


def test_cname_and_cloudbox_flags() -> None:
    _, out, _ = run(["sign", "k", "--bucket", "examplebucket", "--region", "cn-hangzhou",
                     "--endpoint", "cdn.example.com", "--cname", "--at", "20250304T050607Z"])
    assert out.startswith("https://cdn.example.com/k?")
    _, out, _ = run(["sign", "k", "--bucket", "examplebucket", "--region", "cn-hangzhou", "--cloudbox-id", "cb-1",
                     "--at", "20250304T050607Z"])
    assert "cb-1%2Foss-cloudbox%2Faliyun_v4_request" in out


def test_defaults_come_from_the_environment_and_flags_win() -> None:
    env = {"OSS_BUCKET": "envbucket", "OSS_REGION": "cn-beijing", "OSS_ENDPOINT": "files.example.com",
           "OSS_CNAME": "true"}
    _, out, _ = run(["sign", "k"], env=env)
    assert out.startswith("https://files.example.com/k?") and "cn-beijing" in out
    _, out, _ = run(["sign", "k", "--bucket", "flagbucket", "--endpoint", "oss-cn-beijing.aliyuncs.com"], env=env)
    assert out.startswith("https://flagbucket.oss-cn-beijing.aliyuncs.com/k?")


def test_alibaba_cloud_variables_and_session_token() -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sts-secret",
           "ALIBABA_CLOUD_SECURITY_TOKEN": "tok+en/=="}
    status, out, _ = main_with_only(env, ["sign", "k", "--bucket", "examplebucket", "--region", "cn-hangzhou"])
    assert status == 0 and "x-oss-security-token=tok%2Ben%2F%3D%3D" in out and "STS.id%2F" in out


def main_with_only(env: dict[str, str], argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, environ={**ISOLATED, **env}, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_batch_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        {"key": "one.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "at": "2025-03-04T05:06:07Z"},
        "this is not json",
        {"key": "/absolute", "bucket": "examplebucket", "region": "cn-hangzhou"},
        {"key": "two.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "expires": "60"},
        {"key": "three.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "colour": "blue"},
        [1, 2],
        {"key": "four.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "method": "PUT",
         "headers": {"Content-Type": "text/csv"}, "params": {"uploads": ""}, "additional_headers": [],
         "expires": 30, "path_style": True, "endpoint": "http://127.0.0.1:1", "cname": False},
        {"key": "five.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "expires": 604801},
        {"key": "six.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "endpoint": "https://cdn.example.com",
         "cname": True, "path_style": True},
        {"key": "seven.txt", "bucket": "examplebucket", "region": "cn-hangzhou", "cloudbox_id": ""},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n\n"
    status, out, err = run(["sign", "--batch"], stdin=stdin)
    assert (status, err) == (0, "")
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(lines)
    assert unquote(urlsplit(results[0]["url"]).path) == "/one.txt"
    assert results[1]["error"]["code"] == "InvalidArgument" and "not valid JSON" in results[1]["error"]["message"]
    assert "must not start" in results[2]["error"]["message"]
    assert "expires must be of type int" in results[3]["error"]["message"]
    assert "unknown field 'colour'" in results[4]["error"]["message"]
    assert "JSON object" in results[5]["error"]["message"]
    assert results[6]["method"] == "PUT" and results[6]["signed_headers"] == {"content-type": "text/csv"}
    assert results[6]["url"].startswith("http://127.0.0.1:1/examplebucket/four.txt?uploads&")
    assert "1..604800" in results[7]["error"]["message"]
    assert results[8]["error"] == {"code": "InvalidArgument", "message": "cname and path_style exclude each other: a "
                                   "custom domain (--cname, OSS_CNAME) is the bucket's own host, with no bucket in the "
                                   "path"}
    assert "cloudbox_id is empty" in results[9]["error"]["message"] and len(results) == 10


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (["sign", "k", "--region", "cn-hangzhou"], {}, "no bucket: pass --bucket or set OSS_BUCKET"),
        (["sign", "k", "--bucket", "examplebucket"], {}, "no region: pass --region or set OSS_REGION"),
        (["sign", "--bucket", "examplebucket"], {}, "KEY is required"),
        (["sign", "k", "--batch"], {}, "either KEY or --batch"),
        (["sign", "", "--bucket", "examplebucket", "--region", "r"], {}, "1..1023 bytes"),
        (["sign", "x" * 1024, "--bucket", "examplebucket", "--region", "r"], {}, "got 1024"),
        (["sign", "/abs", "--bucket", "examplebucket", "--region", "r"], {}, "must not start with '/'"),
        (["sign", "\\win", "--bucket", "examplebucket", "--region", "r"], {}, "must not start with '/'"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--expires", "0"], {}, "1..604800 seconds, got 0"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--expires", "ten"], {}, "invalid int value"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--method", "PATCH"], {}, "method must be one of"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--header", "NoColon"], {},
         "--header takes 'Name: value'"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--param", "novalue"], {},
         "--param takes name=value"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--at", "yesterday"], {}, "at must be a UTC time"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--at", "2025-03-04T05:06:07"], {},
         "at must be a UTC time"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--at", "2025-03-04T05:06:07+08:00"], {},
         "at must be a UTC time"),
        (["sign", "k", "--bucket", "Bad_Bucket", "--region", "r"], {}, "not a valid name"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--endpoint", "ftp://x"], {}, "http or https"),
        (["sign", "k", "--bogus"], {}, "unrecognized arguments: --bogus (see: python -m shared sign --help)"),
        (["bogus"], {}, "invalid choice: 'bogus' (choose from 'sign', 'explain', 'serve', 'package', 'keygen', "
                        "'token', 'upload') (see: python -m shared --help)"),
        (["sign", ".", "--bucket", "examplebucket", "--region", "r"], {}, "'.' is a dot segment"),
        (["sign", "..", "--bucket", "examplebucket", "--region", "r"], {}, "so no URL can fetch it"),
        ([], {}, "name a command: sign, explain, serve, package, keygen, token, upload"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r"], {"OSS_CNAME": "maybe"},
         "OSS_CNAME must be true or false"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--endpoint", "https://cdn.example.com",
          "--cname", "--path-style"], {}, "cname and path_style exclude each other"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--path-style"],
         {"OSS_ENDPOINT": "https://cdn.example.com", "OSS_CNAME": "true"}, "cname and path_style exclude each other"),
        (["sign", "k", "--bucket", "examplebucket", "--region", "r", "--cloudbox-id", ""], {},
         "cloudbox_id is empty"),
    ],
)
def test_errors_are_one_line_with_exit_2(argv: list[str], env: dict[str, str], fragment: str) -> None:
    status, out, err = run(argv, env=env)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert fragment in err


def test_half_set_key_pair_names_the_missing_variable() -> None:
    status, _, err = main_with_only({"OSS_ACCESS_KEY_ID": "AK"},
                                    ["sign", "k", "--bucket", "examplebucket", "--region", "r"])
    assert status == 2 and "OSS_ACCESS_KEY_SECRET" in err and err.count("\n") == 1


def test_missing_credentials_through_the_real_entry_point() -> None:
    env = {"PATH": os.environ.get("PATH", ""), **ISOLATED}
    done = subprocess.run([sys.executable, "-m", "shared", "sign", "k", "--bucket", "examplebucket", "--region", "r"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "credentials" in done.stderr.lower()


def test_capped_expiry_end_to_end(serve) -> None:
    """Credentials from ALIBABA_CLOUD_CREDENTIALS_URI that expire in an hour cap a one-day URL."""
    expiration = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    document = {"Code": "Success", "AccessKeyId": "STS.cap", "AccessKeySecret": "cap-secret",
                "SecurityToken": "cap-token", "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}
    server = serve(lambda request: Reply(200, document))
    env = {"PATH": os.environ.get("PATH", ""), **ISOLATED, "ALIBABA_CLOUD_CREDENTIALS_URI": server.url + "/creds"}
    done = subprocess.run([sys.executable, "-m", "shared", "sign", "k", "--bucket", "examplebucket", "--region",
                           "cn-hangzhou", "--expires", "86400", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["expires_capped_by"] == "credentials"
    expires_at = datetime.fromisoformat(result["expires_at"].replace("Z", "+00:00"))
    assert expires_at <= expiration - timedelta(seconds=60)
    assert expires_at >= expiration - timedelta(seconds=120)
    assert "x-oss-security-token=cap-token" in result["url"]


def test_parse_time_forms() -> None:
    expected = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert parse_time("2025-03-04T05:06:07Z") == expected
    assert parse_time("20250304T050607Z") == expected
    assert parse_time("2025-03-04T05:06:07+00:00") == expected
    with pytest.raises(InvalidArgument):
        parse_time("2025-13-04T05:06:07Z")


def test_batch_refuses_dot_segment_keys_as_error_lines() -> None:
    lines = "\n".join(json.dumps({"key": key}) for key in (".", "a/../b", "..", "./a")) + "\n"
    status, out, _ = run(["sign", "--batch"], env={"OSS_BUCKET": "examplebucket", "OSS_REGION": "r"}, stdin=lines)
    answers = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(answers) == 4
    assert [answer.get("error", {}).get("code") for answer in answers] == ["InvalidArgument", None,
                                                                          "InvalidArgument", None]
    assert "dot segment" in answers[2]["error"]["message"]
    assert "%2F" in answers[1]["url"]  # a/../b travels as one opaque segment


def test_batch_lines_default_to_the_flags() -> None:
    status, out, _ = run(["sign", "--batch", "--bucket", "flagbucket", "--region", "cn-beijing"],
                         env={"OSS_BUCKET": "envbucket", "OSS_REGION": "cn-hangzhou"},
                         stdin='{"key": "a"}\n{"key": "b", "bucket": "linebucket"}\n')
    first, second = (json.loads(line)["url"] for line in out.splitlines())
    assert status == 0
    assert first.startswith("https://flagbucket.oss-cn-beijing.aliyuncs.com/a?")
    assert second.startswith("https://linebucket.oss-cn-beijing.aliyuncs.com/b?")


def test_batch_streams_and_names_a_line_that_is_not_utf8() -> None:
    env = {"PATH": os.environ.get("PATH", ""), **ISOLATED, **KEYS, "OSS_BUCKET": "examplebucket", "OSS_REGION": "r"}
    with subprocess.Popen([sys.executable, "-m", "shared", "sign", "--batch"], cwd=ROOT, env=env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdin is not None and process.stdout is not None
        for line in (b'{"key": "first"}\n', b'{"key": "\xff"}\n', b'{"key": "third"}\r\n'):
            process.stdin.write(line)
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())  # answered before the next line is written
            assert ("url" in answer) != (line == b'{"key": "\xff"}\n')
            if "error" in answer:
                assert answer["error"]["message"].startswith("not valid JSON") and "utf-8" in answer["error"]["message"]
        process.stdin.close()
        assert process.wait(timeout=60) == 0 and process.stdout.read() == b""


def test_batch_with_distinct_times_answers_each_by_its_own_time() -> None:
    start = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    times = [start + timedelta(seconds=second) for second in range(5000)]  # more than a batch cache keeps
    lines = "".join(json.dumps({"key": "k", "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "expires": 60}) + "\n"
                    for moment in times)
    status, out, _ = run(["sign", "--batch", "--bucket", "examplebucket", "--region", "r"], stdin=lines)
    answers = [json.loads(line)["expires_at"] for line in out.splitlines()]
    assert status == 0
    assert answers == [(moment + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ") for moment in times]
