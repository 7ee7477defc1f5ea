"""Log filters and formats.

JSON log lines (DJANGO_LOG_FORMAT=json) for log shippers. Every line carries the request id and the client's
address (the first untrusted hop behind DJANGO_TRUSTED_PROXIES, see sessions_app/http.py).
A refused or unknown request (4xx) is one line without a traceback.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "client_address"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "client_address": getattr(record, "client_address", "-"),
        }
        entry.update({key: value for key, value in record.__dict__.items()
                      if key not in _STANDARD and not key.startswith("_") and _is_plain(value)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _is_plain(value: object) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


class RefusalWithoutTracebackFilter(logging.Filter):
    """On django.request: a 4xx answer keeps its line but loses the traceback. PermissionDenied and Http404 are
    how views say no on purpose; their stack says nothing an operator needs. A 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
