"""Restore downloads (saves and exports): stream VB365's answer into storage, check it, offer it, purge it.

The body goes chunk by chunk into a spool file (never into memory) while its size and SHA-256 are computed; when
the stream is cut and VB365 said it honours `Range`, it is reopened from the byte where it broke and appended to.
The finished file is checked (its size against Content-Length, a ZIP that opens and whose CRCs match, an MSG's OLE
signature, a PST's `!BDN`, HTML that looks like HTML) before it is handed to Django's storage API
(STORAGES["restores"]: the file system, or S3-compatible storage). A cut, short or broken file is removed and never
reaches storage: the caller gets a DownloadFailed with a message the person can act on.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.http import FileResponse
from django.utils import timezone
from django.utils.text import get_valid_filename

from restores.models import RestoreJob
from sessions_app.exceptions import PortalError
from sessions_app.upstream.errors import UpstreamError

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "restores"
CHUNK_BYTES = 1024 * 1024
PROGRESS_EVERY_SECONDS = 1.0
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")     # MSG: an OLE2 compound file
PST_SIGNATURE = b"!BDN"
HTML_SNIFF_BYTES = 4096
SPOOL_PREFIX, SPOOL_SUFFIX = "download-", ".part"
STORED_NAME_CHARS = 120                                # the safe name on disk, extension included
BROWSER_NAME_CHARS = 200                               # what the browser saves it as (RestoreJob.file_name: 255)

FORMAT_BY_EXTENSION = {".zip": "zip", ".msg": "msg", ".pst": "pst", ".html": "html", ".htm": "html"}
FORMAT_BY_CONTENT_TYPE = {"application/zip": "zip", "application/x-zip-compressed": "zip",
                          "application/vnd.ms-outlook": "msg", "text/html": "html"}
FALLBACK_NAMES = {"zip": "download.zip", "msg": "item.msg", "pst": "export.pst", "html": "posts.html",
                  "file": "download"}

DOWNLOAD_CUT = ("The download from VB365 broke off after {written} of {total} bytes and VB365 cannot resume it. "
                "Nothing was kept; start the save or export again.")
DOWNLOAD_CUT_TOO_OFTEN = ("The download from VB365 broke off {times} times (last after {written} of {total} "
                          "bytes). Nothing was kept; start the save or export again later.")
DOWNLOAD_TOO_LONG = ("VB365 sent {written} bytes where it announced {total}. Nothing was kept; start the save or "
                     "export again.")
DOWNLOAD_RESUME_MISMATCH = ("VB365 answered the resumed download with a part that does not fit the first one. "
                            "Nothing was kept; start the save or export again.")
DOWNLOAD_BROKEN = "VB365 sent a {format_name} that is damaged ({why}). Nothing was kept; start it again."
DOWNLOAD_NOT_STORED = "Restore Desk could not store the downloaded file ({why}). Nothing was kept."
STORED_FILE_MISSING = "The file of this job is no longer stored; run the save or export again."
FORMAT_NAMES = {"zip": "ZIP file", "msg": "MSG file", "pst": "PST file", "html": "HTML export", "file": "file"}


class DownloadFailed(PortalError):
    """A save or export whose file cannot be offered. Nothing of it is left in storage."""

    http_status = 502
    code = "download_failed"


class DownloadIncomplete(DownloadFailed):
    """The body was cut (and could not be resumed), or its length is not the announced one. May pass next time."""

    code = "download_incomplete"
    retryable = True


class DownloadCorrupt(DownloadFailed):
    """The whole body arrived, but it is not the file it claims to be (a ZIP that does not open, no signature)."""

    code = "download_corrupt"


class DownloadNotStored(DownloadFailed):
    """Restore Desk's own storage failed (disk full, S3 refused): not VB365's fault."""

    http_status = 503
    code = "download_not_stored"
    retryable = True


class StoredFileMissing(PortalError):
    """The job's file is not in storage (removed by hand, a bucket emptied): nothing to offer."""

    http_status = 410
    code = "file_gone"


class DownloadStream(Protocol):
    """One answer of VB365 to a save or export (sessions_app.upstream.restores.SessionRestorer.download).

    `content_length` is the length of this answer's body (for a 206, of the part from `range_start` on);
    `iter_chunks` raises an UpstreamError when the body breaks off.
    """

    @property
    def status(self) -> int: ...
    @property
    def content_length(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def suggested_name(self) -> str: ...
    @property
    def resumable(self) -> bool: ...
    def iter_chunks(self, size: int) -> Iterator[bytes]: ...


OpenStream = Callable[[int], AbstractContextManager[DownloadStream]]
ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class StoredDownload:
    """A checked file in storage, with what a RestoreJob records of it."""

    path: str              # the storage name (RestoreJob.file_path)
    file_name: str         # what the browser saves it as (RestoreJob.file_name)
    size: int
    sha256: str            # hex
    content_type: str
    file_format: str       # the check it passed: zip, msg, pst, html or file (size only)
    resumes: int           # times the stream was reopened with Range


def restore_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def file_expiry(now: datetime) -> datetime:
    """When a file made at `now` stops being offered and is purged (EXPORT_RETENTION_HOURS later)."""
    return now + timedelta(hours=settings.EXPORT_RETENTION_HOURS)


def download_store(*, job_public_id: uuid.UUID | str, open_stream: OpenStream, expected_format: str = "",
                   storage: Storage | None = None, now: datetime | None = None, max_resumes: int = 3,
                   resume_delay_seconds: float = 1.0, chunk_size: int = CHUNK_BYTES,
                   on_progress: ProgressCallback | None = None) -> StoredDownload:
    """Stream a download into storage as `restores/<yyyy>/<mm>/<job>/<name>` and return what was stored.

    `open_stream(range_start)` opens VB365's answer from that byte on. An UpstreamError of the first open passes
    unchanged (VB365 refused the save or export). A stream that breaks off is reopened from the byte stored so far
    when it said `resumable`, at most `max_resumes` times. `on_progress(bytes_written, bytes_total)` is called at
    most once a second and once at the end. Raises DownloadIncomplete, DownloadCorrupt or DownloadNotStored;
    then nothing of the file is left, in the spool or in storage.
    """
    storage = storage or restore_storage()
    now = now or timezone.now()
    spool_path = _spool_file(storage)
    try:
        received = _receive(open_stream, spool_path, expected_format=expected_format, max_resumes=max_resumes,
                            chunk_size=chunk_size, resume_delay_seconds=resume_delay_seconds,
                            on_progress=on_progress)
        file_name = browser_file_name(received.suggested_name, received.file_format)
        _check_file(spool_path, received.file_format)
        path = _store(storage, spool_path,
                      f"restores/{now:%Y}/{now:%m}/{job_public_id}/{stored_file_name(file_name)}",
                      size=received.size)
    finally:
        spool_path.unlink(missing_ok=True)      # moved into storage, or given up: never left behind
    logger.info("Stored download of job %s: %s (%d bytes, %s, %d resumes)", job_public_id, path, received.size,
                received.file_format, received.resumes)
    return StoredDownload(path=path, file_name=file_name, size=received.size, sha256=received.sha256,
                          content_type=received.content_type, file_format=received.file_format,
                          resumes=received.resumes)


@dataclass(frozen=True)
class _FirstAnswer:
    """What the first answer said about the file; a resumed part's headers describe only the part."""

    content_type: str
    suggested_name: str
    resumable: bool


@dataclass(frozen=True)
class _Received:
    size: int
    sha256: str
    content_type: str
    suggested_name: str
    file_format: str
    resumes: int


class _StreamCut(Exception):
    """The body ended early: carries the upstream error, if any, for the log."""

    def __init__(self, cause: UpstreamError | None) -> None:
        self.cause = cause
        super().__init__(str(cause) if cause else "short body")


def _receive(open_stream: OpenStream, spool_path: Path, *, expected_format: str, max_resumes: int, chunk_size: int,
             resume_delay_seconds: float, on_progress: ProgressCallback | None) -> _Received:
    """Write the whole body into `spool_path`, resuming with Range where allowed. Size and SHA-256 on the way."""
    first: _FirstAnswer | None = None
    total: int | None = None
    resumes = 0
    progress = _Progress(on_progress)
    with open(spool_path, "wb") as handle:
        spool = _Spool(handle)
        while True:
            try:
                with open_stream(spool.size) as stream:
                    if first is None:
                        first = _FirstAnswer(content_type=stream.content_type or "application/octet-stream",
                                             suggested_name=stream.suggested_name or "",
                                             resumable=stream.resumable)
                        total = stream.content_length
                    elif stream.status != 206:
                        spool.restart()         # Range ignored: the whole file again, from its first byte
                        total = stream.content_length
                    elif total is not None and stream.content_length is not None \
                            and spool.size + stream.content_length != total:
                        raise DownloadIncomplete(DOWNLOAD_RESUME_MISMATCH)
                    for chunk in stream.iter_chunks(chunk_size):
                        spool.append(chunk)
                        progress.report(spool.size, total)
                if total is not None and spool.size > total:
                    raise DownloadIncomplete(DOWNLOAD_TOO_LONG.format(written=spool.size, total=total))
                if total is not None and spool.size < total:
                    raise _StreamCut(None)
                break
            except UpstreamError as error:
                if first is None:
                    raise                       # VB365 refused the save or export itself
                if error.status_code == 416:
                    spool.restart()             # VB365 will not resume from there (416): from the first byte
                cut = _StreamCut(error)
            except _StreamCut as short:
                cut = short
            resumes = _resume_or_fail(cut, resumable=first is not None and first.resumable, resumes=resumes,
                                      max_resumes=max_resumes, written=spool.size, total=total)
            time.sleep(resume_delay_seconds * resumes)
    progress.report(spool.size, total, final=True)
    assert first is not None   # the loop leaves only by `break` after a first answer, or by raising
    return _Received(size=spool.size, sha256=spool.digest.hexdigest(), content_type=first.content_type,
                     suggested_name=first.suggested_name,
                     file_format=file_format_of(first.suggested_name, first.content_type, hint=expected_format),
                     resumes=resumes)


class _Spool:
    """The file being received: its bytes so far and their SHA-256."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def append(self, chunk: bytes) -> None:
        try:
            self._handle.write(chunk)
        except OSError as error:
            raise DownloadNotStored(DOWNLOAD_NOT_STORED.format(why=error.strerror or type(error).__name__)) \
                from error
        self.digest.update(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self.digest = hashlib.sha256()
        self.size = 0


def _resume_or_fail(cut: _StreamCut, *, resumable: bool, resumes: int, max_resumes: int, written: int,
                    total: int | None) -> int:
    """The number of resumes after this one; raise DownloadIncomplete when the stream cannot be resumed."""
    total_text = str(total) if total is not None else "an unknown number of"
    logger.warning("Download cut after %d of %s bytes (%s)", written, total_text, cut)
    if not resumable:
        raise DownloadIncomplete(DOWNLOAD_CUT.format(written=written, total=total_text)) from cut.cause
    if resumes >= max_resumes:
        raise DownloadIncomplete(DOWNLOAD_CUT_TOO_OFTEN.format(times=resumes + 1, written=written,
                                                               total=total_text)) from cut.cause
    return resumes + 1


class _Progress:
    """Calls the progress callback at most once every PROGRESS_EVERY_SECONDS (and once at the end)."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._last = time.monotonic()

    def report(self, written: int, total: int | None, *, final: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if final or now - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = now
            self._callback(written, total)


def _spool_folder(storage: Storage) -> Path:
    """Where downloads are received. For the file system, inside the storage's folder: the finished file is then
    renamed into place, not copied."""
    if isinstance(storage, FileSystemStorage):
        return Path(storage.location) / ".incoming"
    return Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir())


def _spool_file(storage: Storage) -> Path:
    """A new empty spool file."""
    folder = _spool_folder(storage)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=folder)
    except OSError as error:
        raise DownloadNotStored(DOWNLOAD_NOT_STORED.format(why=error.strerror or type(error).__name__)) from error
    os.close(handle)
    return Path(name)


# FILE NAMES AND FORMATS
# ------------------------------------------------------------------------------

def file_format_of(name: str, content_type: str, *, hint: str = "") -> str:
    """Which check a file gets: by its extension, else its content type, else the action's format (`hint`)."""
    by_extension = FORMAT_BY_EXTENSION.get(PurePath(name).suffix.lower())
    if by_extension:
        return by_extension
    by_type = FORMAT_BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())
    if by_type:
        return by_type
    return hint if hint in {"msg", "pst", "html"} else "file"


def browser_file_name(suggested: str, file_format: str) -> str:
    """VB365's suggested name made harmless: no folders, no control characters, not too long."""
    name = suggested.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip().strip(".")
    if not name:
        return FALLBACK_NAMES.get(file_format, FALLBACK_NAMES["file"])
    return _shorten(name, BROWSER_NAME_CHARS)


def stored_file_name(file_name: str) -> str:
    """The name on disk: ASCII letters, digits, dashes, underscores and dots only."""
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    try:
        safe = get_valid_filename(ascii_name)
    except SuspiciousFileOperation:  # names that come out empty, "." or ".."
        safe = ""
    return _shorten(safe, STORED_NAME_CHARS) if safe.strip("._") else "download"


def _shorten(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    path = PurePath(name)
    suffix = path.suffix if len(path.suffix) < 16 else ""
    return name[: limit - len(suffix)] + suffix


# CHECKS
# ------------------------------------------------------------------------------

def _check_file(path: Path, file_format: str) -> None:
    """Raise DownloadCorrupt unless the file is the `file_format` it claims to be."""
    why = check_failure(path, file_format)
    if why:
        raise DownloadCorrupt(DOWNLOAD_BROKEN.format(format_name=FORMAT_NAMES[file_format], why=why))


def check_failure(path: Path, file_format: str) -> str:
    """What is wrong with the file, in words, or "" when it passes the check of its format."""
    with open(path, "rb") as file:
        head = file.read(HTML_SNIFF_BYTES)
    if file_format == "msg" and not head.startswith(OLE_SIGNATURE):
        return "no MSG (OLE) signature"
    if file_format == "pst" and not head.startswith(PST_SIGNATURE):
        return "no PST signature"
    if file_format == "html" and not _looks_like_html(head):
        return "it is not HTML"
    if file_format == "zip":
        return _zip_failure(path)
    return ""


def _looks_like_html(head: bytes) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return text.startswith(b"<") and (b"<!doctype html" in text or b"<html" in text)


def _zip_failure(path: Path) -> str:
    """Opens the ZIP and reads every member, checking its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, ValueError,
            OSError) as error:
        return f"the ZIP does not open: {error}"
    if bad_member is not None:
        return f"the ZIP member {bad_member!r} fails its CRC check"
    return ""


# STORAGE
# ------------------------------------------------------------------------------

# django-stubs makes File generic; at run time it is not subscriptable.
if TYPE_CHECKING:
    _BytesFile = File[bytes]
else:
    _BytesFile = File


class _SpooledFile(_BytesFile):
    """The spool file; `temporary_file_path` lets FileSystemStorage move it into place instead of copying."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def _store(storage: Storage, spool_path: Path, name: str, *, size: int) -> str:
    """Hand the checked spool file to the storage; return its storage name. Removes it again if the stored size
    is not `size`."""
    try:
        with open(spool_path, "rb") as handle:
            stored = storage.save(name, _SpooledFile(handle, name=str(spool_path)))
    except Exception as error:  # any backend's failure (OSError, botocore's ClientError …): the reason, kept
        logger.warning("Storing %s failed: %r", name, error)
        raise DownloadNotStored(DOWNLOAD_NOT_STORED.format(why=_storage_error_words(error))) from error
    stored_size = storage.size(stored)
    if stored_size != size:
        stored_file_delete(stored, storage=storage)
        raise DownloadNotStored(DOWNLOAD_NOT_STORED.format(why=f"{stored_size} bytes stored of {size}"))
    return stored


def _storage_error_words(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


def stored_file_delete(path: str, *, storage: Storage | None = None) -> None:
    """Delete a stored file; one that is already gone is fine."""
    (storage or restore_storage()).delete(path)


def stored_file_open(path: str, *, storage: Storage | None = None) -> IO[bytes]:
    """The stored file for reading, streamed: on S3 the object's body as it arrives, not a full local copy first
    (django-storages' S3File downloads the whole object on the first read). Raises StoredFileMissing (410)."""
    storage = storage or restore_storage()
    if type(storage).__module__ == "storages.backends.s3":
        from botocore.exceptions import ClientError  # boto3 loads only where S3 is used
        from storages.utils import clean_name

        s3: Any = storage
        try:
            # _normalize_name adds the storage's prefix (its `location`): the key storage.save() wrote.
            body: IO[bytes] = s3.bucket.Object(s3._normalize_name(clean_name(path))).get()["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise StoredFileMissing(STORED_FILE_MISSING) from error
            raise
        return body
    try:
        return storage.open(path, "rb")
    except FileNotFoundError as error:
        raise StoredFileMissing(STORED_FILE_MISSING) from error


def download_response(file: IO[bytes], *, file_name: str, size: int | None, content_type: str) -> FileResponse:
    """Stream a stored file to the browser as an attachment named `file_name`; no cache keeps it."""
    response = FileResponse(file, as_attachment=True, filename=file_name,
                            content_type=content_type or "application/octet-stream")
    if size is not None:
        response["Content-Length"] = str(size)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def purge_expired_files(*, now: datetime, storage: Storage | None = None) -> list[int]:
    """Delete every stored file whose time is up; return the pks of the jobs whose file was purged.

    A job's file_purged_at is set only after its file is gone, and only once (a concurrent purge finds it set). A
    file the storage cannot delete now is left for the next run, its job untouched. Spool files that a worker
    killed mid-download left behind, untouched for the retention time, are removed too.
    """
    storage = storage or restore_storage()
    _spool_purge(storage, older_than=now - timedelta(hours=settings.EXPORT_RETENTION_HOURS))
    expired = (RestoreJob.objects.filter(file_expires_at__lte=now, file_purged_at__isnull=True)
               .exclude(file_path="").values_list("pk", "file_path"))
    purged: list[int] = []
    for pk, path in expired:
        try:
            stored_file_delete(path, storage=storage)
        except Exception as error:  # the next run tries again; one failing file does not stop the others
            logger.warning("Could not purge the file of restore job %s: %r", pk, error)
            continue
        if RestoreJob.objects.filter(pk=pk, file_purged_at__isnull=True).update(file_purged_at=now):
            purged.append(pk)
    return purged


def _spool_purge(storage: Storage, *, older_than: datetime) -> None:
    """Remove what a worker that died while receiving left in the spool: files untouched since `older_than`
    (a download being received is written to all the time)."""
    folder = _spool_folder(storage)
    for leftover in folder.glob(f"{SPOOL_PREFIX}*{SPOOL_SUFFIX}"):
        try:
            if leftover.stat().st_mtime < older_than.timestamp():
                leftover.unlink()
                logger.info("Removed %s, left by an interrupted download", leftover)
        except OSError:
            continue    # gone meanwhile, or not ours to remove
