"""Log lines (portal/logging.py and LOGGING): a refused request is one line without a traceback, with DEBUG on or
off; a server error keeps its traceback."""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.urls import reverse

from portal.logging import RefusalWithoutTracebackFilter


@contextmanager
def console_output(logger_name: str) -> Iterator[io.StringIO]:
    """What the console handlers on the way from this logger to the root print (pytest's own handlers aside)."""
    printed = io.StringIO()
    handlers: list[logging.StreamHandler[Any]] = []
    logger: logging.Logger | None = logging.getLogger(logger_name)
    while logger is not None:
        handlers += [handler for handler in logger.handlers if type(handler) is logging.StreamHandler]
        logger = logger.parent if logger.propagate else None
    streams = [handler.setStream(printed) for handler in handlers]
    try:
        yield printed
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


@pytest.mark.parametrize("debug", [False, True])
def test_a_403_is_logged_once_without_a_traceback(operator_client: Any, settings: Any, caplog: Any,
                                                   debug: bool) -> None:
    settings.DEBUG = debug
    with caplog.at_level(logging.INFO), console_output("django.request") as console:
        response = operator_client.get(reverse("sessions_app:audit-list"))
    assert response.status_code == 403

    records = [record for record in caplog.records if record.name == "django.request"]
    assert [(record.levelname, record.getMessage()) for record in records] == [
        ("WARNING", "Forbidden (Permission denied): /audit/")]
    assert records[0].exc_info is None
    # What the console shows: Django's own console handler printed it a second time, with DEBUG on.
    printed = console.getvalue()
    assert printed.count("Forbidden (Permission denied): /audit/") == 1
    assert "Traceback" not in printed


def test_a_404_is_one_line(client: Any, db: Any, caplog: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "404.html" in [template.name for template in response.templates]
    assert "URLconf" not in response.content.decode()
    records = [record for record in caplog.records if record.name == "django.request"]
    assert len(records) == 1 and records[0].exc_info is None


def test_a_server_error_keeps_its_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x", (),
                                   (type(exc), exc, exc.__traceback__))
    record.status_code = 500
    refused = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: /x", (),
                                record.exc_info)
    refused.status_code = 403

    keep = RefusalWithoutTracebackFilter()
    assert keep.filter(record) and record.exc_info is not None
    assert keep.filter(refused) and refused.exc_info is None
