"""Multipart uploads against the real local bucket (tests/stubs_local_oss.py): each operation through presigned
URLs and header-signed requests made by our signer, with requests; OSS's error codes; the ETags checked
against hashlib; parallel parts; a restart in the middle; the object-created event; CORS on part uploads.
The memory of a 256 MiB upload is in test_devtools_local_oss_multipart_memory.py."""

from __future__ import annotations

import sqlite3
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
import requests
from multipart_requests import (
    PART,
    TIMEOUT,
    body,
    complete,
    complete_xml,
    get,
    initiate,
    object_etag,
    quoted_md5,
    request,
    upload_all,
    upload_part,
    xml,
)
from stubs_credentials import FakeClock
from stubs_local_oss import BUCKET, KEYS, REGION, STS, Bucket, error_of
from test_devtools_local_oss_events import Recorder

from shared.devtools.local_oss import LocalOss
from shared.devtools.local_oss.cors import parse_cors_xml
from shared.devtools.local_oss.cors_api import put_configuration
from shared.devtools.local_oss.multipart_files import DATA
from shared.devtools.local_oss.store import INDEX
from shared.oss.signer import sign_request


def test_a_presigned_upload_from_initiate_to_complete(bucket: Bucket) -> None:
    key = "videos/holiday 2026.mp4"
    upload_id = initiate(bucket, key, {"Content-Type": "video/mp4", "x-oss-meta-owner": "ana"})
    assert len(upload_id) == 32 and upload_id == upload_id.upper()
    bodies = [body(PART, 1), body(PART + 7, 2), body(10, 3)]
    listed = upload_all(bucket, key, upload_id, bodies)
    assert [etag for _, etag in listed] == [quoted_md5(data) for data in bodies]
    assert not bucket.oss.store.exists(BUCKET, key)  # nothing before the complete
    answer = complete(bucket, key, upload_id, listed)
    assert answer.status_code == 200, answer.text
    root = xml(answer)
    assert root.tag == "CompleteMultipartUploadResult"
    assert root.findtext("ETag") == answer.headers["ETag"] == object_etag(bodies)
    assert root.findtext("Location") == f"{bucket.oss.endpoint}/{BUCKET}/videos/holiday%202026.mp4"
    got = get(bucket, key)
    assert got.content == b"".join(bodies) and got.headers["ETag"] == object_etag(bodies)
    assert got.headers["Content-Type"] == "video/mp4" and got.headers["x-oss-meta-owner"] == "ana"
    assert list((bucket.root / BUCKET / "%uploads").iterdir()) == []  # the parts went with the upload
    gone = request(bucket, "GET", key, {"uploadId": upload_id})
    assert gone.status_code == 404 and error_of(gone)["Code"] == "NoSuchUpload"


def test_header_signed_requests_and_a_chunked_part(bucket: Bucket) -> None:
    key = "logs/a.bin"
    upload_id = initiate(bucket, key, header_signed=True)
    first, last = body(PART, 4), body(3000, 5)
    chunked = upload_part(bucket, key, upload_id, 1, iter([first[:5000], first[5000:]]), header_signed=True)
    assert chunked.status_code == 200 and chunked.headers["ETag"] == quoted_md5(first)
    second = upload_part(bucket, key, upload_id, 2, last, header_signed=True)
    listed = request(bucket, "GET", key, {"uploadId": upload_id}, header_signed=True)
    assert [p.findtext("PartNumber") for p in xml(listed).findall("Part")] == ["1", "2"]
    done = complete(bucket, key, upload_id, [(1, chunked.headers["ETag"]), (2, second.headers["ETag"])],
                     header_signed=True)
    assert done.status_code == 200 and get(bucket, key).content == first + last
    assert get(bucket, key).headers["Content-Type"] == "application/octet-stream"


def test_a_part_uploaded_twice_keeps_the_last(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    upload_part(bucket, "k", upload_id, 1, body(PART, 6))
    again = upload_part(bucket, "k", upload_id, 1, b"replaced")
    listed = xml(request(bucket, "GET", "k", {"uploadId": upload_id})).findall("Part")
    assert [(p.findtext("ETag"), p.findtext("Size")) for p in listed] == [(quoted_md5(b"replaced"), "8")]
    # the first part's slot of the data file is no part's now; a part sent again goes to its own file
    (_, content, start), = bucket_parts(bucket, upload_id, 1)
    assert start is None and {p.name for p in (bucket.root / BUCKET / "%uploads" / upload_id).iterdir()} == {
        DATA, content}
    again = upload_part(bucket, "k", upload_id, 1, b"replaced")
    (_, third, _), = bucket_parts(bucket, upload_id, 1)
    assert {p.name for p in (bucket.root / BUCKET / "%uploads" / upload_id).iterdir()} == {DATA, third}  # gone
    assert complete(bucket, "k", upload_id, [(1, again.headers["ETag"].strip('"'))]).status_code == 200  # unquoted too
    assert get(bucket, "k").content == b"replaced"


def test_list_parts_pages_as_oss_does(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    for number in (1, 2, 3, 5, 8):
        upload_part(bucket, "k", upload_id, number, f"part {number}".encode())
    first = xml(request(bucket, "GET", "k", {"uploadId": upload_id, "max-parts": "2"}))
    assert [p.findtext("PartNumber") for p in first.findall("Part")] == ["1", "2"]
    assert (first.findtext("IsTruncated"), first.findtext("NextPartNumberMarker"), first.findtext("MaxParts"),
            first.findtext("PartNumberMarker")) == ("true", "2", "2", "0")
    part = first.find("Part")
    assert part is not None and part.findtext("LastModified") == "2025-03-04T05:00:00.000Z"
    rest = xml(request(bucket, "GET", "k", {"uploadId": upload_id, "max-parts": "2", "part-number-marker": "3"}))
    assert [p.findtext("PartNumber") for p in rest.findall("Part")] == ["5", "8"]
    assert (rest.findtext("IsTruncated"), rest.findtext("NextPartNumberMarker")) == ("false", "8")
    many = xml(request(bucket, "GET", "k", {"uploadId": upload_id, "max-parts": "5000"}))
    assert many.findtext("MaxParts") == "1000" and len(many.findall("Part")) == 5
    bad = request(bucket, "GET", "k", {"uploadId": upload_id, "max-parts": "none"})
    assert bad.status_code == 400 and error_of(bad)["ArgumentName"] == "max-parts"


def test_list_multipart_uploads_with_prefix_delimiter_and_markers(bucket: Bucket) -> None:
    ids = {key: initiate(bucket, key) for key in ("a/1", "a/2", "b", "c/x/1")}
    second_b = initiate(bucket, "b")
    signed = sign_request(KEYS, bucket=BUCKET, key=None, region=REGION, signing_time=bucket.clock(),
                          endpoint=bucket.oss.endpoint, params={"uploads": None, "delimiter": "/"})
    root = xml(bucket.http.get(signed.url, headers=signed.headers, timeout=TIMEOUT))
    assert root.tag == "ListMultipartUploadsResult"
    assert [u.findtext("Key") for u in root.findall("Upload")] == ["b", "b"]
    assert [p.findtext("Prefix") for p in root.findall("CommonPrefixes")] == ["a/", "c/"]
    uploads = [_list_uploads(bucket, **{"max-uploads": "2"})]
    while uploads[-1].findtext("IsTruncated") == "true":
        uploads.append(_list_uploads(bucket, **{"max-uploads": "2", "key-marker": uploads[-1].findtext("NextKeyMarker"),
                                                "upload-id-marker": uploads[-1].findtext("NextUploadIdMarker")}))
    seen = [(u.findtext("Key"), u.findtext("UploadId")) for page in uploads for u in page.findall("Upload")]
    assert seen == sorted([*ids.items(), ("b", second_b)]) and len(uploads) == 3
    assert uploads[0].findtext("Upload/Initiated") == "2025-03-04T05:00:00.000Z"
    assert [u.findtext("Key") for u in _list_uploads(bucket, prefix="a/").findall("Upload")] == ["a/1", "a/2"]
    encoded = _list_uploads(bucket, prefix="c/", **{"encoding-type": "url"})
    assert encoded.findtext("EncodingType") == "url" and encoded.findtext("Upload/Key") == "c%2Fx%2F1"


def _list_uploads(bucket: Bucket, **params: str | None) -> ElementTree.Element:
    signed = sign_request(KEYS, bucket=BUCKET, key=None, region=REGION, signing_time=bucket.clock(),
                          endpoint=bucket.oss.endpoint, params={"uploads": None, **params})
    answer = bucket.http.get(signed.url, headers=signed.headers, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return xml(answer)


def test_abort_removes_the_upload_and_its_parts(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    upload_part(bucket, "k", upload_id, 1, b"x" * 1000)
    assert request(bucket, "DELETE", "k", {"uploadId": upload_id}).status_code == 204
    assert not (bucket.root / BUCKET / "%uploads" / upload_id).exists()
    for method, params in (("DELETE", {}), ("GET", {}), ("PUT", {"partNumber": "2"})):
        answer = request(bucket, method, "k", {"uploadId": upload_id, **params}, data=b"late")
        assert answer.status_code == 404 and error_of(answer)["Code"] == "NoSuchUpload", method
    assert not bucket.oss.store.exists(BUCKET, "k")


def test_an_upload_id_of_another_key_is_no_such_upload(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "mine")
    upload_part(bucket, "mine", upload_id, 1, b"x")
    for method, params in (("GET", {}), ("PUT", {"partNumber": "1"}), ("DELETE", {}), ("POST", {})):
        answer = request(bucket, method, "theirs", {"uploadId": upload_id, **params}, data=complete_xml([]))
        assert answer.status_code == 404 and error_of(answer)["Code"] == "NoSuchUpload", method
        assert error_of(answer)["UploadId"] == upload_id
    unknown = upload_part(bucket, "mine", "0" * 32, 1, b"x")
    assert error_of(unknown)["Code"] == "NoSuchUpload"
    assert len(xml(request(bucket, "GET", "mine", {"uploadId": upload_id})).findall("Part")) == 1


@pytest.mark.parametrize("number", ["0", "10001", "abc", "", "-1", "1.5"])
def test_part_numbers_are_1_to_10000(bucket: Bucket, number: str) -> None:
    upload_id = initiate(bucket, "k")
    answer = request(bucket, "PUT", "k", {"partNumber": number, "uploadId": upload_id}, data=b"x")
    assert answer.status_code == 400 and error_of(answer)["Code"] == "InvalidArgument"
    assert error_of(answer)["Message"] == "Part number must be an integer between 1 and 10000, inclusive."
    assert upload_part(bucket, "k", upload_id, 10000, b"x").status_code == 200


def test_complete_refusals_leave_the_upload_as_it_was(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    small, big, last = body(PART - 1, 7), body(PART, 8), b"end"
    etags = dict(upload_all(bucket, "k", upload_id, [big, small, last]))
    cases = [
        ([(1, etags[1]), (4, etags[2])], "InvalidPart"),  # no part 4
        ([(1, quoted_md5(b"other")), (3, etags[3])], "InvalidPart"),  # a wrong ETag
        ([(3, etags[3]), (1, etags[1])], "InvalidPartOrder"),
        ([(1, etags[1]), (1, etags[1])], "InvalidPartOrder"),
        ([(1, etags[1]), (2, etags[2]), (3, etags[3])], "EntityTooSmall"),  # part 2 is under 100 KiB
    ]
    for parts, code in cases:
        answer = complete(bucket, "k", upload_id, parts)
        assert answer.status_code == 400 and error_of(answer)["Code"] == code, (parts, answer.text)
    assert error_of(complete(bucket, "k", upload_id, cases[4][0]))["PartNumber"] == "2"
    assert not bucket.oss.store.exists(BUCKET, "k")
    assert len(xml(request(bucket, "GET", "k", {"uploadId": upload_id})).findall("Part")) == 3
    assert complete(bucket, "k", upload_id, [(1, etags[1]), (2, etags[2])]).status_code == 200  # the last may be small
    assert get(bucket, "k").content == big + small


@pytest.mark.parametrize("body", [b"", b"not xml", b"<Other/>", b"<CompleteMultipartUpload/>",
                                  b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
                                  b"</CompleteMultipartUpload>",
                                  b'<!DOCTYPE a [<!ENTITY e "x">]><CompleteMultipartUpload/>'])
def test_a_malformed_complete_body_is_malformed_xml(bucket: Bucket, body: bytes) -> None:
    upload_id = initiate(bucket, "k")
    answer = request(bucket, "POST", "k", {"uploadId": upload_id}, data=body)
    assert answer.status_code == 400 and error_of(answer)["Code"] == "MalformedXML"


def test_a_complete_body_is_bounded(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    answer = request(bucket, "POST", "k", {"uploadId": upload_id}, data=b" " * (2 << 20) + b"<x/>")
    assert answer.status_code == 400 and "at most" in error_of(answer)["Message"]


def test_complete_all_takes_every_part(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k")
    bodies = [body(PART, 9), b"tail"]
    upload_all(bucket, "k", upload_id, bodies)
    answer = request(bucket, "POST", "k", {"uploadId": upload_id}, headers={"x-oss-complete-all": "yes"},
                      header_signed=True)
    assert answer.status_code == 200 and answer.headers["ETag"] == object_etag(bodies)


def test_ten_parts_uploaded_at_once(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "parallel")
    bodies = [body(PART + number, number) for number in range(10)]
    urls = [bucket.presign("parallel", method="PUT", params={"partNumber": str(n), "uploadId": upload_id}).url
            for n in range(1, 11)]
    start = threading.Barrier(10, timeout=TIMEOUT)

    def send(index: int) -> str:
        start.wait()
        answer = requests.put(urls[index], data=bodies[index], timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    with ThreadPoolExecutor(10) as pool:
        etags = list(pool.map(send, range(10)))
    assert etags == [quoted_md5(data) for data in bodies]
    assert complete(bucket, "parallel", upload_id, list(enumerate(etags, start=1))).status_code == 200
    assert get(bucket, "parallel").content == b"".join(bodies)


def test_an_upload_survives_a_restart_of_the_bucket(bucket: Bucket) -> None:
    upload_id = initiate(bucket, "k", {"Content-Type": "text/plain", "x-oss-meta-a": "1"})
    first = upload_part(bucket, "k", upload_id, 1, body(PART, 10)).headers["ETag"]
    bucket.oss.stop()
    with LocalOss(bucket.root, credentials=[KEYS, STS], region=REGION, clock=bucket.clock, buckets=[BUCKET]) as again:
        second = upload_part(bucket, "k", upload_id, 2, b"after", oss=again).headers["ETag"]
        listed = xml(request(bucket, "GET", "k", {"uploadId": upload_id}, oss=again))
        assert [p.findtext("ETag") for p in listed.findall("Part")] == [first, second]
        assert complete(bucket, "k", upload_id, [(1, first), (2, second)], oss=again).status_code == 200
        got = request(bucket, "GET", "k", {}, oss=again)
    assert got.content == body(PART, 10) + b"after" and got.headers["x-oss-meta-a"] == "1"
    assert got.headers["Content-Type"] == "text/plain"


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[tuple[Bucket, Recorder]]:
    recorder = Recorder()
    clock = FakeClock()
    with LocalOss(tmp_path / "oss", credentials=[KEYS], region=REGION, clock=clock, buckets=[BUCKET],
                  on_stored=recorder) as oss, requests.Session() as http:
        yield Bucket(oss, tmp_path / "oss", clock, http), recorder


def test_complete_raises_the_object_created_event(hooked: tuple[Bucket, Recorder]) -> None:
    bucket, recorder = hooked
    assert request(bucket, "PUT", "k", {}, data=b"old").status_code == 200
    upload_id = initiate(bucket, "k", {"Content-Type": "image/png"})
    bodies = [body(PART, 11), b"end"]
    listed = upload_all(bucket, "k", upload_id, bodies)
    assert len(recorder.stored) == 1  # initiating and parts raise nothing
    answer = complete(bucket, "k", upload_id, listed)
    record = recorder.stored[-1].oss_event()
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload" and len(recorder.stored) == 2
    assert record["oss"]["object"] == {"key": "k", "size": PART + 3, "deltaSize": PART, "eTag":  # type: ignore[index]
                                       object_etag(bodies).strip('"'), "objectMeta": {"mimeType": "image/png"}}
    assert record["responseElements"] == {"requestId": answer.headers["x-oss-request-id"]}
    refused = complete(bucket, "k", upload_id, listed)
    assert refused.status_code == 404 and len(recorder.stored) == 2


CORS = b"""<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>
<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader>
<ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>"""


def test_cors_rules_apply_and_expose_the_part_etag(bucket: Bucket) -> None:
    put_configuration(bucket.oss.store, BUCKET, parse_cors_xml(CORS))
    origin = {"Origin": "https://app.example.com"}
    upload_id = initiate(bucket, "k")
    url = bucket.presign("k", method="PUT", params={"partNumber": "1", "uploadId": upload_id}).url
    preflight = requests.options(url, headers={**origin, "Access-Control-Request-Method": "PUT"}, timeout=TIMEOUT)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    answer = requests.put(url, data=b"part", headers=origin, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.headers["Access-Control-Expose-Headers"] == "ETag"
    refused = requests.put(url.replace(upload_id, "F" * 32), data=b"part", headers=origin, timeout=TIMEOUT)
    assert refused.status_code == 403 and refused.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_a_version_2_index_gains_the_multipart_tables_and_keeps_its_objects(bucket: Bucket) -> None:
    assert request(bucket, "PUT", "kept", {}, data=b"old bytes").status_code == 200
    with closing(sqlite3.connect(bucket.root / BUCKET / INDEX)) as db:
        db.executescript("DROP TABLE uploads; DROP TABLE parts; DROP TABLE slots; PRAGMA user_version = 2")
    upload_id = initiate(bucket, "k")
    assert upload_part(bucket, "k", upload_id, 1, b"x").status_code == 200
    assert get(bucket, "kept").content == b"old bytes"


def test_a_complete_that_fails_midway_keeps_the_old_object_and_leaves_nothing(bucket: Bucket) -> None:
    assert request(bucket, "PUT", "k", {}, data=b"the old object").status_code == 200
    upload_id = initiate(bucket, "k")
    listed = upload_all(bucket, "k", upload_id, [body(PART, 12), body(PART, 13), b"end"])
    folder = bucket.root / BUCKET / "%uploads" / upload_id
    (_, content, start), = bucket_parts(bucket, upload_id, 2)
    # as when a part is replaced or the upload aborted once complete read the index (a sized part is a region
    # of the upload's data file, a chunked one its own file)
    (folder / (DATA if start is not None else content)).unlink()
    answer = complete(bucket, "k", upload_id, listed)
    assert answer.status_code == 400 and error_of(answer)["Code"] == "InvalidPart"
    assert get(bucket, "k").content == b"the old object"
    assert list((bucket.root / BUCKET / "%tmp").iterdir()) == []


def bucket_parts(bucket: Bucket, upload_id: str, number: int) -> list[tuple[int, str, int | None]]:
    """The index's (part number, content file, start in the data file or None) rows for one part."""
    with closing(sqlite3.connect(bucket.root / BUCKET / INDEX)) as db:
        return db.execute("SELECT number, content, start FROM parts WHERE upload_id = ? AND number = ?",
                          (upload_id, number)).fetchall()
