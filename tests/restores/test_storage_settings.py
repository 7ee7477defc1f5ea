"""restores/storage_settings.py: STORAGES["restores"] from RESTORE_FILES_ROOT, RESTORE_STORAGE_URL and RESTORE_S3_*."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from restores.storage_settings import S3_PART_BYTES, S3Location, restore_storage_entry

ROOT = Path("/srv/restoredesk/restores")


def test_the_file_system_is_the_default_and_serves_no_url() -> None:
    entry = restore_storage_entry(files_root=ROOT)

    assert entry["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert entry["OPTIONS"]["location"] == str(ROOT)
    assert entry["OPTIONS"]["base_url"] is None
    assert entry["OPTIONS"]["file_permissions_mode"] == 0o640


def test_a_storage_url_names_the_bucket_prefix_endpoint_region_and_keys() -> None:
    entry = restore_storage_entry(
        files_root=ROOT,
        url="s3://AKIA1:se%2Fcret@restore-files/desk/exports?endpoint_url=https://minio.internal:9000&region=eu-west-1")

    options = entry["OPTIONS"]
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["location"]) == ("restore-files", "desk/exports")
    assert (options["endpoint_url"], options["addressing_style"]) == ("https://minio.internal:9000", "path")
    assert (options["access_key"], options["secret_key"], options["region_name"]) == ("AKIA1", "se/cret", "eu-west-1")
    assert options["file_overwrite"] is False and options["default_acl"] is None
    assert options["transfer_config"].multipart_chunksize == S3_PART_BYTES


def test_the_secret_key_is_not_in_the_location_repr() -> None:
    location = S3Location(bucket="restore-files", access_key="AKIA1", secret_key="hunter2-secret")
    assert "hunter2-secret" not in repr(location) and "restore-files" in repr(location)


def test_the_s3_settings_win_over_the_url() -> None:
    entry = restore_storage_entry(files_root=ROOT, url="s3://old-bucket?region=us-east-1",
                                  s3=S3Location(bucket="new-bucket", access_key="key", secret_key="secret"))

    options = entry["OPTIONS"]
    assert (options["bucket_name"], options["region_name"], options["access_key"]) == ("new-bucket", "us-east-1",
                                                                                       "key")
    assert "endpoint_url" not in options      # AWS itself: boto3's own endpoint and addressing


def test_the_s3_settings_alone_choose_s3() -> None:
    entry = restore_storage_entry(files_root=ROOT, s3=S3Location(bucket="restore-files", region="eu-central-1"))

    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    assert "access_key" not in entry["OPTIONS"]   # boto3's usual chain: instance role, environment, ~/.aws


@pytest.mark.parametrize(("url", "s3", "message"), [
    ("file:///srv/files", None, "must start with s3://"),
    ("s3://", None, "names no bucket"),
    ("s3://bucket?endpoint=https://x", None, "unknown parameters: endpoint"),
    ("", S3Location(access_key="key", secret_key="hunter2-secret"), "RESTORE_S3_BUCKET"),
])
def test_a_storage_setting_that_cannot_work_stops_start_up(url: str, s3: S3Location | None, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        restore_storage_entry(files_root=ROOT, url=url, s3=s3)
    assert "hunter2" not in str(refused.value)
