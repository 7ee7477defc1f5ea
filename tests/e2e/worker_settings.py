"""Settings of a `manage.py worker` process started by a browser test: the test settings, pointed at the
simulator the test uses and at the test's download storage (portal/settings_test.py fixes both per process)."""
from __future__ import annotations

import os
from pathlib import Path

from portal.settings_test import *  # noqa: F401,F403
from portal.settings_test import STORAGES
from restores.storage_settings import restore_storage_entry

VB365_URL = os.environ["E2E_VB365_URL"]
VB365_API_VERSION = int(os.environ["E2E_VB365_API_VERSION"])
VB365_USERNAME = os.environ["E2E_VB365_USERNAME"]
VB365_PASSWORD = os.environ["E2E_VB365_PASSWORD"]
VB365_MAX_RETRIES = 0
VB365_READ_TIMEOUT = 10.0
RESTORE_FILES_ROOT = Path(os.environ["E2E_RESTORE_FILES_ROOT"])
STORAGES = {**STORAGES, "restores": restore_storage_entry(files_root=RESTORE_FILES_ROOT)}
# Of the schedule, only the check that ends jobs whose worker died (a test kills one), and often.
SYNC_INTERVAL_SECONDS = 0
SESSION_IDLE_CHECK_SECONDS = 0
AUDIT_CHECKPOINT_INTERVAL_SECONDS = 0
TOKEN_REFRESH_INTERVAL_SECONDS = 0
EXPORT_PURGE_INTERVAL_SECONDS = 0
RESTORE_JOB_CHECK_SECONDS = 2
