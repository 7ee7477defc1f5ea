"""restores/storage.py: a download streamed into storage (file system and S3), checked, resumed, offered, purged.

S3 is a real S3-compatible server over HTTP: moto's server mode in a process of its own (so that its memory is not
counted in ours), reached through boto3 and django-storages exactly as production reaches a bucket.
"""
from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import FileSystemStorage, Storage, storages

from restores import storage as restore_files
from restores.models import RestoreJob
from restores.storage_settings import S3_PART_BYTES, S3_PARTS_IN_MEMORY, S3Location, restore_storage_entry
from sessions_app.models import RestoreSession
from sessions_app.upstream import restores as upstream_restores
from sessions_app.upstream.browse import SessionBrowser
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.client import get_client
from sessions_app.upstream.errors import UpstreamBadResponse, UpstreamRejected
from tests.conftest import SimControl

MIB = 1024 * 1024
StreamT = TypeVar("StreamT")
JOB_ID = uuid.UUID("0b0e5f0a-6d38-4b1c-9f7e-3f1c2d4e5a6b")


def _now() -> datetime:
    return datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


# A LOCAL S3-COMPATIBLE SERVER
# ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the whole run."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


S3_KEYS = S3Location(access_key="test-access-key", secret_key="test-secret-key")


@pytest.fixture(params=["filesystem", "s3"])
def restore_storage(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Storage:
    """STORAGES["restores"] as the settings build it: a folder of this test's, or a new bucket of its own."""
    if request.param == "filesystem":
        entry = restore_storage_entry(files_root=tmp_path / "restores")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"restores-{uuid.uuid4().hex[:12]}"
        _s3_client(endpoint).create_bucket(Bucket=bucket)
        entry = restore_storage_entry(files_root=tmp_path / "unused",
                                      url=f"s3://{bucket}/desk?endpoint_url={endpoint}&region=us-east-1",
                                      s3=S3_KEYS)
    settings.STORAGES = {**settings.STORAGES, "restores": entry}
    return storages["restores"]


def _s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=S3_KEYS.access_key, aws_secret_access_key=S3_KEYS.secret_key)


def stored_names(storage: Storage) -> list[str]:
    """Every file in the storage (spool folder included), by walking it through the storage API."""
    names: list[str] = []
    pending = [""]
    while pending:
        folder = pending.pop()
        folders, files = storage.listdir(folder)
        names += [f"{folder}/{name}".lstrip("/") for name in files]
        pending += [f"{folder}/{name}".lstrip("/") for name in folders]
    return names


def read_stored(storage: Storage, path: str) -> bytes:
    with restore_files.stored_file_open(path, storage=storage) as file:
        return file.read()


# A VB365 DOWNLOAD, AS THE STORAGE SEES IT
# ------------------------------------------------------------------------------

@dataclass
class FakeStream:
    """One answer: `body` from the requested byte on; cut (an upstream error) after `cut_after` bytes."""

    body: bytes
    status: int = 200
    content_length: int | None = None
    content_type: str = "application/octet-stream"
    suggested_name: str = "file.bin"
    resumable: bool = False
    cut_after: int | None = None
    cut_quietly: bool = False           # the connection closes cleanly where it is cut: the body is just short

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        end = len(self.body) if self.cut_after is None else self.cut_after
        for start in range(0, end, size):
            yield self.body[start:min(start + size, end)]
        if self.cut_after is not None and not self.cut_quietly:
            raise UpstreamBadResponse("The download broke off.")


@dataclass
class FakeDownload:
    """VB365's side: the file, where successive answers are cut (absolute byte offsets), whether Range works."""

    body: bytes
    suggested_name: str = "file.bin"
    content_type: str = "application/octet-stream"
    resumable: bool = False
    honours_range: bool = True
    announces_length: bool = True
    refuses_range: bool = False         # 416 to any Range
    cut_quietly: bool = False
    cuts: list[int] = field(default_factory=list)
    range_starts: list[int] = field(default_factory=list)

    def open(self, range_start: int) -> AbstractContextManager[FakeStream]:
        self.range_starts.append(range_start)
        if range_start and self.refuses_range:
            raise UpstreamRejected("Requested range not satisfiable.", status_code=416)
        start = range_start if self.honours_range else 0
        part = self.body[start:]
        cut = self.cuts.pop(0) - start if self.cuts else None
        stream = FakeStream(body=part, status=206 if start else 200,
                            content_length=len(part) if self.announces_length else None,
                            content_type=self.content_type, suggested_name=self.suggested_name,
                            resumable=self.resumable, cut_after=cut, cut_quietly=self.cut_quietly)
        return _opened(stream)


@contextmanager
def _opened(stream: StreamT) -> Iterator[StreamT]:
    yield stream


def store(download: FakeDownload, **kwargs: Any) -> restore_files.StoredDownload:
    kwargs.setdefault("resume_delay_seconds", 0)
    kwargs.setdefault("chunk_size", 64 * 1024)
    kwargs.setdefault("now", _now())
    return restore_files.download_store(job_public_id=JOB_ID, open_stream=download.open, **kwargs)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PAYLOAD = os.urandom(700 * 1024)
MSG = restore_files.OLE_SIGNATURE + os.urandom(40 * 1024)
PST = b"!BDN" + os.urandom(300 * 1024)
HTML = b"<!DOCTYPE html>\n<html><head><title>General</title></head><body><div class=\"post\">hi</div></body></html>\n"
ZIP = zip_bytes({"Inbox/one.msg": MSG, "Inbox/two.msg": MSG[::-1], "notes.txt": b"plain"})


# STORING
# ------------------------------------------------------------------------------

def test_a_download_is_streamed_into_storage_with_its_size_and_sha256(restore_storage: Storage) -> None:
    download = FakeDownload(PAYLOAD, suggested_name="Quarterly report.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    stored = store(download)

    assert stored.path == f"restores/2026/12/{JOB_ID}/Quarterly_report.xlsx"
    assert stored.file_name == "Quarterly report.xlsx"
    assert stored.size == len(PAYLOAD)
    assert stored.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert stored.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (stored.file_format, stored.resumes) == ("file", 0)
    assert read_stored(restore_storage, stored.path) == PAYLOAD
    assert stored_names(restore_storage) == [stored.path]     # no spool file left behind


@pytest.mark.parametrize(("name", "body", "file_format"), [
    ("Inbox.zip", ZIP, "zip"), ("Lunch.msg", MSG, "msg"), ("megan.pst", PST, "pst"), ("General.html", HTML, "html"),
])
def test_each_format_that_passes_its_check_is_stored(restore_storage: Storage, name: str, body: bytes,
                                                     file_format: str) -> None:
    stored = store(FakeDownload(body, suggested_name=name, announces_length=file_format in {"msg", "pst"}))

    assert stored.file_format == file_format
    assert read_stored(restore_storage, stored.path) == body


def _zip_with_damaged_member() -> bytes:
    damaged = bytearray(ZIP)
    at = bytes(damaged).index(MSG[:64]) + 1000          # inside the first member's data: its CRC no longer fits
    damaged[at] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize(("name", "body", "why"), [
    ("Inbox.zip", ZIP[: len(ZIP) // 2], "the ZIP does not open"),
    ("Inbox.zip", _zip_with_damaged_member(), "fails its CRC check"),
    ("Lunch.msg", b"\x00" * 8 + MSG[8:], "no MSG (OLE) signature"),
    ("megan.pst", b"PK\x03\x04" + PST[4:], "no PST signature"),
    ("General.html", b"%PDF-1.7 not a web page", "it is not HTML"),
])
def test_a_broken_file_is_refused_and_nothing_is_kept(restore_storage: Storage, name: str, body: bytes,
                                                      why: str) -> None:
    with pytest.raises(restore_files.DownloadCorrupt) as refused:
        store(FakeDownload(body, suggested_name=name))

    assert why in refused.value.message
    assert "Nothing was kept" in refused.value.message
    assert stored_names(restore_storage) == []


def test_the_check_follows_the_file_vb365_sent_not_the_action(restore_storage: Storage) -> None:
    """A PST export over the size limit comes back as a ZIP of PSTs: it is checked as the ZIP it is."""
    split = zip_bytes({"megan.pst": PST, "megan_2.pst": PST[::-1]})

    stored = store(FakeDownload(split, suggested_name="megan.zip", content_type="application/zip"),
                   expected_format="pst")

    assert stored.file_format == "zip"


def test_a_name_without_extension_is_checked_by_its_content_type_then_by_the_action() -> None:
    assert restore_files.file_format_of("export", "application/zip") == "zip"
    assert restore_files.file_format_of("export", "application/octet-stream", hint="pst") == "pst"
    assert restore_files.file_format_of("Budget.docx", "application/octet-stream", hint="zip") == "file"


def test_a_body_longer_than_announced_is_refused(restore_storage: Storage) -> None:
    download = FakeDownload(PAYLOAD)
    real_open = download.open

    def open_with_wrong_length(range_start: int) -> AbstractContextManager[FakeStream]:
        manager = real_open(range_start)

        @contextmanager
        def lying() -> Iterator[FakeStream]:
            with manager as stream:
                stream.content_length = len(PAYLOAD) - 10
                yield stream
        return lying()

    with pytest.raises(restore_files.DownloadIncomplete, match="sent 716800 bytes where it announced 716790"):
        restore_files.download_store(job_public_id=JOB_ID, open_stream=open_with_wrong_length)
    assert stored_names(restore_storage) == []


def test_vb365_refusing_the_export_passes_its_error_unchanged(restore_storage: Storage) -> None:
    refusal = UpstreamRejected("A 64-bit version of Microsoft Outlook must be installed.", status_code=500)

    def refuse(range_start: int) -> AbstractContextManager[FakeStream]:
        raise refusal

    with pytest.raises(UpstreamRejected) as raised:
        restore_files.download_store(job_public_id=JOB_ID, open_stream=refuse)
    assert raised.value is refusal
    assert stored_names(restore_storage) == []


def test_progress_is_reported_and_ends_at_the_full_size(restore_storage: Storage) -> None:
    seen: list[tuple[int, int | None]] = []

    store(FakeDownload(PAYLOAD), on_progress=lambda written, total: seen.append((written, total)))

    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


# CUT STREAMS AND RESUMING
# ------------------------------------------------------------------------------

def test_a_cut_stream_that_cannot_resume_leaves_no_file(restore_storage: Storage) -> None:
    download = FakeDownload(PST, suggested_name="megan.pst", resumable=False, cuts=[len(PST) // 2])

    with pytest.raises(restore_files.DownloadIncomplete) as refused:
        store(download)

    assert refused.value.message == (
        f"The download from VB365 broke off after {len(PST) // 2} of {len(PST)} bytes and VB365 cannot resume it. "
        "Nothing was kept; start the save or export again.")
    assert isinstance(refused.value.__cause__, UpstreamBadResponse)
    assert download.range_starts == [0]
    assert stored_names(restore_storage) == []


def test_a_short_body_without_an_error_counts_as_cut(restore_storage: Storage) -> None:
    download = FakeDownload(PST, suggested_name="megan.pst", cuts=[1000], cut_quietly=True)

    with pytest.raises(restore_files.DownloadIncomplete, match="broke off after 1000 of"):
        store(download)
    assert stored_names(restore_storage) == []


def test_a_cut_resumable_stream_is_resumed_with_range_and_stored_whole(restore_storage: Storage) -> None:
    third = len(PST) // 3
    download = FakeDownload(PST, suggested_name="megan.pst", resumable=True, cuts=[third, 2 * third + 17])

    stored = store(download)

    assert download.range_starts == [0, third, 2 * third + 17]
    assert stored.resumes == 2
    assert stored.sha256 == hashlib.sha256(PST).hexdigest()
    assert read_stored(restore_storage, stored.path) == PST


def test_resuming_gives_up_after_the_allowed_number_of_tries(restore_storage: Storage) -> None:
    download = FakeDownload(PST, suggested_name="megan.pst", resumable=True,
                            cuts=[1000 * (n + 1) for n in range(10)])

    with pytest.raises(restore_files.DownloadIncomplete, match="broke off 3 times"):
        store(download, max_resumes=2)

    assert download.range_starts == [0, 1000, 2000]
    assert stored_names(restore_storage) == []


def test_a_server_that_ignores_range_sends_the_whole_file_again(restore_storage: Storage) -> None:
    download = FakeDownload(PST, suggested_name="megan.pst", resumable=True, honours_range=False,
                            cuts=[5000])

    stored = store(download)

    assert download.range_starts == [0, 5000]
    assert stored.sha256 == hashlib.sha256(PST).hexdigest()
    assert stored.size == len(PST)


def test_a_refused_range_starts_the_file_again_from_its_first_byte(restore_storage: Storage) -> None:
    download = FakeDownload(PST, suggested_name="megan.pst", resumable=True, refuses_range=True, cuts=[5000])

    stored = store(download)

    assert download.range_starts == [0, 5000, 0]
    assert stored.sha256 == hashlib.sha256(PST).hexdigest()
    assert stored.resumes == 2


# MEMORY
# ------------------------------------------------------------------------------

@dataclass
class GeneratedStream:
    """A large body made of one repeated block: the test itself holds one block, not the file."""

    block: bytes
    blocks: int
    status: int = 200
    content_type: str = "application/octet-stream"
    suggested_name: str = "large.bin"
    resumable: bool = False

    @property
    def content_length(self) -> int:
        return len(self.block) * self.blocks

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        for _ in range(self.blocks):
            yield self.block


def test_a_large_download_is_stored_in_bounded_memory(restore_storage: Storage) -> None:
    stream = GeneratedStream(block=os.urandom(MIB), blocks=200)
    expected = hashlib.sha256()
    for chunk in stream.iter_chunks(MIB):
        expected.update(chunk)

    # The S3 client loads its service model (~11 MiB, once per client) on first use: not the file's memory.
    restore_storage.exists("warm-up")
    tracemalloc.start()
    try:
        stored = restore_files.download_store(job_public_id=JOB_ID, open_stream=lambda start: _opened(stream))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert stored.size == 200 * MIB
    assert stored.sha256 == expected.hexdigest()
    assert restore_storage.size(stored.path) == 200 * MIB
    # File system: one chunk at a time. S3: the parts read ahead of their upload plus the one being read
    # (restores/storage_settings.py), and the client's buffers.
    s3_bound = (S3_PARTS_IN_MEMORY + 1) * S3_PART_BYTES + 8 * MIB
    bound = 4 * MIB if isinstance(restore_storage, FileSystemStorage) else s3_bound
    assert peak < bound, f"peak traced memory {peak / MIB:.1f} MiB"


# OFFERING
# ------------------------------------------------------------------------------

def test_the_download_response_streams_the_file_as_an_attachment(restore_storage: Storage) -> None:
    stored = store(FakeDownload(PAYLOAD, suggested_name="Résumé 2026.docx"))

    file = restore_files.stored_file_open(stored.path)
    response = restore_files.download_response(file, file_name=stored.file_name, size=stored.size,
                                               content_type=stored.content_type)

    assert response.streaming
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''R%C3%A9sum%C3%A9%202026.docx"
    assert response["Content-Length"] == str(len(PAYLOAD))
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == PAYLOAD  # type: ignore[arg-type]
    file.close()


def test_a_stored_file_that_is_gone_is_a_clear_error(restore_storage: Storage) -> None:
    stored = store(FakeDownload(PAYLOAD))
    restore_files.stored_file_delete(stored.path)
    restore_files.stored_file_delete(stored.path)        # twice: a file already gone is fine

    with pytest.raises(restore_files.StoredFileMissing) as gone:
        restore_files.stored_file_open(stored.path)
    assert gone.value.http_status == 410


@pytest.mark.parametrize(("suggested", "browser", "on_disk"), [
    ("../../etc/passwd", "passwd", "passwd"),
    ("C:\\Users\\megan\\Inbox.pst", "Inbox.pst", "Inbox.pst"),
    ("Ünïcode näme.msg", "Ünïcode näme.msg", "Unicode_name.msg"),
    ("bell\x07\x00.zip", "bell.zip", "bell.zip"),
    ("..", "download.zip", "download.zip"),
    ("x" * 300 + ".pst", "x" * 196 + ".pst", "x" * 116 + ".pst"),
])
def test_file_names_are_made_harmless(suggested: str, browser: str, on_disk: str) -> None:
    assert restore_files.browser_file_name(suggested, "zip") == browser
    assert restore_files.stored_file_name(browser) == on_disk


# RETENTION
# ------------------------------------------------------------------------------

def test_a_file_expires_after_the_retention_hours(settings: Any) -> None:
    settings.EXPORT_RETENTION_HOURS = 6
    made = _now()
    assert restore_files.file_expiry(made) == made + timedelta(hours=6)


def _job(*, path: str, expires_at: datetime | None, purged_at: datetime | None = None) -> RestoreJob:
    user = get_user_model().objects.create_user(f"user-{uuid.uuid4().hex[:8]}")
    session = RestoreSession.objects.create(upstream_id=uuid.uuid4(), workload="exchange", creation_time=_now(),
                                            fetched_at=_now(), api_version=8)
    return RestoreJob.objects.create(session=session, requested_by=user, reason="ticket 42",
                                     action="exchange.export_pst", workload="exchange", api_version=8,
                                     file_path=path, file_expires_at=expires_at, file_purged_at=purged_at)


@pytest.mark.django_db
def test_purge_deletes_expired_files_and_marks_their_jobs(restore_storage: Storage) -> None:
    stored = [store(FakeDownload(PST, suggested_name=f"mailbox-{n}.pst"), now=_now() + timedelta(days=n))
              for n in range(3)]
    now = _now()
    expired = _job(path=stored[0].path, expires_at=now - timedelta(minutes=1))
    current = _job(path=stored[1].path, expires_at=now + timedelta(hours=1))
    already_purged = _job(path=stored[2].path, expires_at=now - timedelta(days=1), purged_at=now - timedelta(hours=2))
    _job(path="", expires_at=now - timedelta(days=1))     # a restore job: no file

    purged = restore_files.purge_expired_files(now=now)

    assert purged == [expired.pk]
    assert sorted(stored_names(restore_storage)) == sorted([stored[1].path, stored[2].path])
    expired.refresh_from_db()
    current.refresh_from_db()
    already_purged.refresh_from_db()
    assert expired.file_purged_at == now
    assert current.file_purged_at is None
    assert already_purged.file_purged_at == now - timedelta(hours=2)
    assert restore_files.purge_expired_files(now=now) == []


@pytest.mark.django_db
def test_purge_removes_what_an_interrupted_download_left_in_the_spool(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {**settings.STORAGES, "restores": restore_storage_entry(files_root=tmp_path)}
    spool = tmp_path / ".incoming"
    spool.mkdir()
    abandoned, receiving = spool / "download-abandoned.part", spool / "download-receiving.part"
    abandoned.write_bytes(b"!BDN half")
    receiving.write_bytes(b"!BDN still coming")
    now = datetime.now(UTC)
    long_ago = (now - timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1)).timestamp()
    os.utime(abandoned, (long_ago, long_ago))

    restore_files.purge_expired_files(now=now)

    assert not abandoned.exists()
    assert receiving.exists()


# AGAINST THE SIMULATOR (sessions_app.upstream.restores.SessionRestorer over real HTTP)
# ------------------------------------------------------------------------------

class MailboxExport:
    """A v7/v8 restore session's first mailbox, exported to PST through the real restorer."""

    def __init__(self, sim: SimControl, version: int) -> None:
        self.sim = sim
        client = get_client()
        organization = sim.organization(backed_up=True, tenant=True)
        session = client.start_restore_session(organization_id=organization["id"], workload="exchange",
                                               point_in_time=datetime.now(UTC))
        browser = SessionBrowser(client, str(session.id), "exchange")
        mailboxes = browser.children(NodeRef("top"), offset=0, limit=50).entries
        self.mailbox = next(entry.ref for entry in mailboxes if not entry.details.get("is_archive"))
        self.restorer = upstream_restores.SessionRestorer(client, str(session.id), version)
        self.range_starts: list[int] = []

    def open(self, range_start: int) -> AbstractContextManager[upstream_restores.DownloadStream]:
        self.range_starts.append(range_start)
        if range_start:
            self.sim.clear_faults()   # the network is back for the resumed request
        return self.restorer.download("exchange.export_pst", [self.mailbox], range_start=range_start, timeout=30)

    def sha256_read_directly(self) -> str:
        digest = hashlib.sha256()
        with self.restorer.download("exchange.export_pst", [self.mailbox], timeout=30) as stream:
            for chunk in stream.iter_chunks(MIB):
                digest.update(chunk)
        return digest.hexdigest()


@pytest.mark.integration
@pytest.mark.parametrize(("restore_storage", "version"), [("filesystem", 7), ("filesystem", 8), ("s3", 8)],
                         indirect=["restore_storage"])
def test_a_pst_export_cut_half_way_is_resumed_with_range_and_stored_whole(
        upstream: Callable[[int], SimControl], restore_storage: Storage, version: int) -> None:
    export = MailboxExport(upstream(version), version)
    export.sim.fault(cut_body=True, path="(?i)exportToPst$")

    stored = restore_files.download_store(job_public_id=JOB_ID, open_stream=export.open, expected_format="pst",
                                          resume_delay_seconds=0)

    assert len(export.range_starts) == 2 and export.range_starts[1] > 0
    assert stored.resumes == 1 and stored.file_format == "pst"
    assert stored.sha256 == export.sha256_read_directly()
    assert read_stored(restore_storage, stored.path)[:4] == b"!BDN"
    assert restore_storage.size(stored.path) == stored.size


@pytest.mark.integration
def test_a_cut_export_vb365_cannot_resume_leaves_no_file(upstream: Callable[[int], SimControl],
                                                         restore_storage: Storage) -> None:
    export = MailboxExport(upstream(6), 6)           # v6 ignores Range: the PST is not resumable
    export.sim.fault(cut_body=True, path="(?i)exportToPst$")

    with pytest.raises(restore_files.DownloadIncomplete, match="VB365 cannot resume it"):
        restore_files.download_store(job_public_id=JOB_ID, open_stream=export.open, expected_format="pst")

    assert export.range_starts == [0]
    assert stored_names(restore_storage) == []
