"""session_columns: what VB365 says of a session or an event, as the local columns that mirror it."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.utils import timezone

from sessions_app.models import RestoreSession
from sessions_app.session_columns import EVENT_FIELDS, event_rows, upstream_fields
from sessions_app.upstream.types import RestoreSessionDTO, RestoreSessionEventDTO

CREATED = datetime(2026, 11, 1, 9, 0, tzinfo=dt_timezone.utc)


def session_dto(**overrides: Any) -> RestoreSessionDTO:
    data = {"id": "6f1c1f7e-1111-4a4a-9d9d-222222222222", "name": "Restore of contoso", "organization": "Contoso",
            "type": "Vex", "state": "Working", "result": "Success", "creationTime": "2026-11-01T09:00:00Z",
            "initiatedBy": "CONTOSO\\\\svc-restoredesk", "reason": "from the console", **overrides}
    return RestoreSessionDTO.from_api(data)


def test_a_working_session_has_no_result_whatever_vb365_sent() -> None:
    columns = upstream_fields(session_dto(), api_version=8)

    assert (columns["state"], columns["result"]) == ("working", "")
    assert (columns["creation_time"], columns["workload"], columns["api_version"]) == (CREATED, "exchange", 8)
    assert columns["upstream_reason"] == "from the console" and "reason" not in columns


def test_a_stopped_session_keeps_its_result() -> None:
    columns = upstream_fields(session_dto(state="Stopped", result="Failed", endTime="2026-11-01T10:00:00Z"),
                              api_version=8)

    assert (columns["state"], columns["result"]) == ("stopped", "failed")


def test_each_event_becomes_one_row_of_the_session() -> None:
    session = RestoreSession(upstream_id="6f1c1f7e-1111-4a4a-9d9d-222222222222")
    event = RestoreSessionEventDTO.from_api({
        "id": "e1", "type": "Info", "status": "Success", "title": "Restore session started", "message": "",
        "order": 1, "startTime": "2026-11-01T09:00:00Z"})
    moment = timezone.now()

    rows = event_rows(session, [event], fetched_at=moment)

    assert [(row.session, row.upstream_id, row.title, row.fetched_at) for row in rows] == [
        (session, "e1", "Restore session started", moment)]
    assert set(EVENT_FIELDS) <= {field.name for field in type(rows[0])._meta.get_fields()}
