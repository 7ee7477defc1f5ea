"""Where restore downloads are kept: the STORAGES["restores"] entry, built from settings values.

Pure (no Django models, no app registry): portal/settings.py calls it while settings are being read. The file
system is the default; S3-compatible storage (django-storages) is used as soon as a bucket is named, through
RESTORE_STORAGE_URL (`s3://[KEY:SECRET@]BUCKET[/PREFIX][?endpoint_url=…&region=…]`) or the RESTORE_S3_* settings,
which win over the URL's parts. Workers on several machines need S3: each machine has its own file system.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

# S3's smallest multipart part (except the last); s3transfer raises it for files over 10,000 parts. With two parts in
# memory and two uploads at a time, an upload holds a few parts' worth (~25 MiB), whatever the file's size.
S3_PART_BYTES = 5 * 1024 * 1024
S3_PARTS_IN_MEMORY = 2
S3_CONCURRENT_PARTS = 2
# A stored file read back through the storage API spills to disk beyond this (django-storages keeps it all in
# memory by default).
S3_READ_SPOOL_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class S3Location:
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str = ""
    access_key: str = ""
    secret_key: str = field(default="", repr=False)   # settings and start-up errors may be printed
    region: str = ""


def s3_location_from_url(url: str) -> S3Location:
    """Parse RESTORE_STORAGE_URL; raise ImproperlyConfigured naming what is wrong (never echoing a secret)."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ImproperlyConfigured("RESTORE_STORAGE_URL must start with s3:// (the file system needs no URL: "
                                   "set RESTORE_FILES_ROOT).")
    if not parts.hostname:
        raise ImproperlyConfigured("RESTORE_STORAGE_URL names no bucket (s3://BUCKET/…).")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"endpoint_url", "region"}
    if unknown:
        raise ImproperlyConfigured(f"RESTORE_STORAGE_URL has unknown parameters: {', '.join(sorted(unknown))}.")
    return S3Location(
        # urlsplit lower-cases the host; bucket names are lower-case anyway, but take it as written.
        bucket=parts.netloc.rpartition("@")[2],
        prefix=parts.path.strip("/"),
        endpoint_url=query.get("endpoint_url", ""),
        access_key=unquote(parts.username or ""),
        secret_key=unquote(parts.password or ""),
        region=query.get("region", ""),
    )


def restore_storage_entry(*, files_root: Path, url: str = "", s3: S3Location | None = None) -> dict[str, Any]:
    """The STORAGES["restores"] entry: S3 when the URL or `s3.bucket` names a bucket, else the file system.

    Files are never served by URL (no base_url, no public ACL): only the portal's download view streams them.
    """
    location = s3_location_from_url(url) if url else S3Location()
    overrides = {key: value for key, value in vars(s3 or S3Location()).items() if value}
    location = replace(location, **overrides)
    if not location.bucket:
        if url or overrides:
            raise ImproperlyConfigured("RESTORE_S3_BUCKET (or the bucket in RESTORE_STORAGE_URL) is required for "
                                       "S3 storage of restore downloads.")
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(files_root), "base_url": None,
                        "file_permissions_mode": 0o640, "directory_permissions_mode": 0o750},
        }
    # Imported only when S3 is configured: boto3 is a dependency, but file-system deployments never load it.
    from boto3.s3.transfer import TransferConfig

    transfer_config = TransferConfig(multipart_threshold=S3_PART_BYTES, multipart_chunksize=S3_PART_BYTES,
                                     max_concurrency=S3_CONCURRENT_PARTS)
    # s3transfer's knob, not among boto3's constructor arguments: parts read ahead of their upload.
    transfer_config.max_in_memory_upload_chunks = S3_PARTS_IN_MEMORY
    options: dict[str, Any] = {
        "bucket_name": location.bucket,
        "location": location.prefix,
        "default_acl": None,
        "querystring_auth": True,
        # Never overwrite: a second file of the same name gets a new name (each job has its own folder anyway).
        "file_overwrite": False,
        "max_memory_size": S3_READ_SPOOL_BYTES,
        "transfer_config": transfer_config,
    }
    if location.endpoint_url:
        # S3-compatible servers (MinIO, Ceph, moto) answer on one host name: path-style addressing.
        options.update(endpoint_url=location.endpoint_url, addressing_style="path")
    if location.access_key or location.secret_key:
        options.update(access_key=location.access_key, secret_key=location.secret_key)
    if location.region:
        options["region_name"] = location.region
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
