"""DTO parsing at the boundary: every fixture, dates, booleans, enums, collection envelopes."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sessions_app.upstream import types
from sessions_app.upstream.errors import UpstreamBadResponse
from tests.upstream.stub_transport import FIXTURES, load_fixture


def _session_list(payload: Any) -> list[types.RestoreSessionDTO]:
    items, _ = types.unwrap_collection(payload, what="restore session")
    return types.parse_each(items, types.RestoreSessionDTO.from_api)


def _collection(parser: Any, what: str) -> Any:
    def parse(payload: Any) -> list[Any]:
        items, _ = types.unwrap_collection(payload, what=what)
        return types.parse_each(items, parser)

    return parse


def _token(payload: Any) -> Any:
    from sessions_app.upstream.auth import Token

    return [Token.from_grant(payload)]


def _error(payload: Any) -> list[str]:
    return [payload["message"]]


def _token_error(payload: Any) -> list[str]:
    return [payload["error_description"]]


# Every fixture file, the parser that reads it and how many objects it holds.
PARSERS: dict[str, tuple[Any, int]] = {
    "organizations_v1.json": (_collection(types.OrganizationDTO.from_api, "organization"), 2),
    "organizations_page_v8.json": (_collection(types.OrganizationDTO.from_api, "organization"), 1),
    "restore_session_v1.json": (lambda p: [types.RestoreSessionDTO.from_api(p)], 1),
    "restore_session_v3.json": (lambda p: [types.RestoreSessionDTO.from_api(p)], 1),
    "restore_session_v6.json": (lambda p: [types.RestoreSessionDTO.from_api(p)], 1),
    "restore_session_v8.json": (lambda p: [types.RestoreSessionDTO.from_api(p)], 1),
    "restore_sessions_v1.json": (_session_list, 2),
    "restore_sessions_page_v6.json": (_session_list, 2),
    "restore_session_events_page.json": (_collection(types.RestoreSessionEventDTO.from_api, "event"), 2),
    "restore_points_v6.json": (_collection(types.RestorePointDTO.from_api, "restore point"), 2),
    "restore_points_page_v7.json": (_collection(types.RestorePointDTO.from_api, "restore point"), 1),
    "token_response.json": (_token, 1),
    "token_error.json": (_token_error, 1),
    "error_v6.json": (_error, 1),
    "error_v8.json": (_error, 1),
}


def test_every_fixture_has_a_parser():
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_fixture_parses(name):
    parser, count = PARSERS[name]

    parsed = parser(load_fixture(name))

    assert len(parsed) == count


def test_organization_v1_reads_the_string_boolean_and_dates():
    parse = _collection(types.OrganizationDTO.from_api, "organization")
    backed_up, never = parse(load_fixture("organizations_v1.json"))

    assert backed_up.id == "b9898108-0000-4000-8000-000000000001"
    assert backed_up.is_backed_up is True
    assert backed_up.first_backup == datetime(2017, 6, 26, 22, 7, 39, 123456, tzinfo=timezone.utc)
    assert backed_up.last_backup == datetime(2017, 6, 29, 7, 42, 21, 191694, tzinfo=timezone.utc)
    assert never.is_backed_up is False
    assert never.first_backup is None and never.last_backup is None


def test_organization_v8_from_a_page():
    (org,) = _collection(types.OrganizationDTO.from_api, "organization")(load_fixture("organizations_page_v8.json"))

    assert org.name == "example.onmicrosoft.com"
    assert org.is_backed_up is True
    assert org.last_backup == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def test_organization_id_is_lower_cased():
    org = types.OrganizationDTO.from_api({"id": "B9898108-AAAA-4000-8000-000000000001", "name": "x"})

    assert org.id == "b9898108-aaaa-4000-8000-000000000001"


def test_restore_session_v1_has_point_in_time_with_offset():
    session = types.RestoreSessionDTO.from_api(load_fixture("restore_session_v1.json"))

    assert session.workload == "exchange"
    assert session.point_in_time == datetime(2017, 6, 27, 5, 7, 39, tzinfo=timezone.utc)
    assert session.creation_time == datetime(2017, 6, 29, 7, 42, 21, 191694, tzinfo=timezone.utc)
    assert session.name == "" and session.organization_name == ""


def test_restore_session_v3_doc_example():
    session = types.RestoreSessionDTO.from_api(load_fixture("restore_session_v3.json"))

    assert session.id == "9f786f0f-de9a-4a90-8118-093b6cb2c4fc"
    assert session.state == "working"
    assert session.result == "success"
    assert session.end_time is None
    assert session.creation_time == datetime(2017, 6, 29, 8, 30, 5, 98397, tzinfo=timezone.utc)


def test_restore_session_v6_stopped():
    session = types.RestoreSessionDTO.from_api(load_fixture("restore_session_v6.json"))

    assert session.workload == "sharepoint"
    assert session.state == "stopped"
    assert session.result == "warning"
    assert session.end_time == datetime(2022, 3, 12, 16, 10, 0, 100000, tzinfo=timezone.utc)
    assert session.initiated_by == "example\\administrator"
    assert session.client_host == "vb365-console.example.local"
    assert session.etag is None


def test_restore_session_v8_fields_and_offset_creation_time():
    session = types.RestoreSessionDTO.from_api(load_fixture("restore_session_v8.json"))

    assert session.workload == "teams"
    assert session.creation_time == datetime(2024, 5, 1, 7, 0, 0, 123456, tzinfo=timezone.utc)
    assert session.creation_time.utcoffset() == timedelta(0)
    assert session.end_time is None
    assert session.etag == 3
    assert (session.scope_name, session.reason) == ("Megan Bowen", "Ticket 4711")


def test_events_page_parses_offsets_and_v6_item_fields():
    started, saving = _collection(types.RestoreSessionEventDTO.from_api, "event")(
        load_fixture("restore_session_events_page.json"))

    assert started.title == "Restore session started"
    assert started.order == 0 and started.status == "Success" and started.type == "None"
    assert started.start_time == datetime(2017, 5, 30, 10, 53, 45, 67971, tzinfo=timezone.utc)
    assert started.duration == "00:00:00"
    assert saving.item_size_bytes == 48213
    assert saving.item_name == "Quarterly report.docx"
    assert saving.end_time is None and saving.order == 1


def test_restore_points_read_workload_flags():
    first, second = _collection(types.RestorePointDTO.from_api, "restore point")(load_fixture("restore_points_v6.json"))
    (paged,) = _collection(types.RestorePointDTO.from_api, "restore point")(load_fixture("restore_points_page_v7.json"))

    assert first.workloads == ("exchange", "onedrive") and first.is_long_term_copy is False
    assert second.workloads == ("sharepoint", "teams") and second.is_long_term_copy is True
    assert paged.backup_time == datetime(2023, 8, 1, 0, 0, 0, 123456, tzinfo=timezone.utc)
    assert paged.id == "1a2b3c4d-0003"


# -- dates --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("2022-03-12T15:55:20.8557416Z", datetime(2022, 3, 12, 15, 55, 20, 855741, tzinfo=timezone.utc)),
    ("2017-06-29T07:42:21.191694Z", datetime(2017, 6, 29, 7, 42, 21, 191694, tzinfo=timezone.utc)),
    ("2017-05-30T13:53:45.0679711+03:00", datetime(2017, 5, 30, 10, 53, 45, 67971, tzinfo=timezone.utc)),
    ("2017-06-26T22:07:39-07:00", datetime(2017, 6, 27, 5, 7, 39, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00z", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00", datetime(2024, 1, 1, tzinfo=timezone.utc)),
])
def test_parse_datetime_gives_aware_utc(text, expected):
    parsed = types.parse_datetime(text, key="creationTime")

    assert parsed == expected
    assert parsed.tzinfo == timezone.utc


@pytest.mark.parametrize("empty", [None, ""])
def test_parse_datetime_keeps_absent_values_absent(empty):
    assert types.parse_datetime(empty) is None


@pytest.mark.parametrize("bad", ["yesterday", 1714550400, "2024-13-01T00:00:00Z"])
def test_parse_datetime_rejects_unreadable_dates_naming_the_key(bad):
    with pytest.raises(UpstreamBadResponse, match="endTime"):
        types.parse_datetime(bad, key="endTime")


# -- enums and booleans ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("True", True), (" TRUE ", True), ("false", False), ("", False), (True, True), (False, False),
    (None, False),
])
def test_parse_bool_reads_v1_string_booleans(value, expected):
    assert types.parse_bool(value) is expected


@pytest.mark.parametrize(("wire", "workload"), [
    ("Vex", "exchange"), ("vex", "exchange"), ("VEX", "exchange"), ("Veod", "onedrive"), ("vesp", "sharepoint"),
    ("VESP", "sharepoint"), ("Vet", "teams"),
])
def test_type_maps_to_workload_case_insensitively(wire, workload):
    assert types.workload_for_type(wire) == workload


@pytest.mark.parametrize("wire", ["Vbo", "", None, "exchange"])
def test_unknown_type_raises_bad_response(wire):
    with pytest.raises(UpstreamBadResponse, match="type"):
        types.workload_for_type(wire)


def test_type_and_workload_tables_are_inverse():
    assert {types.WORKLOAD_BY_TYPE[t]: t for t in types.WORKLOAD_BY_TYPE} == types.TYPE_BY_WORKLOAD


@pytest.mark.parametrize(("wire", "state"), [
    ("Working", "working"), ("Starting", "working"), ("Stopping", "working"), ("Stopped", "stopped"),
    ("WORKING", "working"), ("stopped", "stopped"),
])
def test_session_state_mapping(wire, state):
    payload = {**load_fixture("restore_session_v3.json"), "state": wire}

    assert types.RestoreSessionDTO.from_api(payload).state == state


def test_unknown_session_state_raises_bad_response():
    with pytest.raises(UpstreamBadResponse, match="(?i)paused"):
        types.RestoreSessionDTO.from_api({**load_fixture("restore_session_v3.json"), "state": "Paused"})


def test_unknown_session_type_raises_bad_response():
    with pytest.raises(UpstreamBadResponse, match="Vxx"):
        types.RestoreSessionDTO.from_api({**load_fixture("restore_session_v3.json"), "type": "Vxx"})


def test_unknown_result_is_blank_not_an_error():
    session = types.RestoreSessionDTO.from_api({**load_fixture("restore_session_v3.json"), "result": "Mystery"})

    assert session.result == ""


@pytest.mark.parametrize("key", ["id", "type", "creationTime", "state"])
def test_restore_session_without_a_required_key_names_it(key):
    payload = load_fixture("restore_session_v8.json")
    del payload[key]

    with pytest.raises(UpstreamBadResponse, match=f"`{key}`"):
        types.RestoreSessionDTO.from_api(payload)


@pytest.mark.parametrize(("parser", "key"), [
    (types.OrganizationDTO.from_api, "name"), (types.RestorePointDTO.from_api, "backupTime"),
    (types.RestoreSessionEventDTO.from_api, "id"),
])
def test_other_dtos_name_their_missing_key(parser, key):
    with pytest.raises(UpstreamBadResponse, match=f"`{key}`"):
        parser({"id": "x"} if key != "id" else {"title": "t"})


def test_non_object_payload_raises_bad_response():
    with pytest.raises(UpstreamBadResponse, match="not a JSON object"):
        types.RestoreSessionDTO.from_api(["not", "an", "object"])  # type: ignore[arg-type]


# -- collections ----------------------------------------------------------------------------------------------


def test_unwrap_collection_plain_array_is_the_whole_collection():
    items, has_next = types.unwrap_collection(load_fixture("restore_sessions_v1.json"), what="restore session")

    assert len(items) == 2
    assert has_next is None


def test_unwrap_collection_page_with_next_link():
    items, has_next = types.unwrap_collection(load_fixture("restore_sessions_page_v6.json"), what="restore session")

    assert len(items) == 2
    assert has_next is True


def test_unwrap_collection_last_page_has_no_next_link():
    items, has_next = types.unwrap_collection(load_fixture("organizations_page_v8.json"), what="organization")

    assert len(items) == 1
    assert has_next is False


def test_unwrap_collection_empty_page_with_next_link_stops():
    payload = {"offset": 30, "limit": 30, "results": [], "_links": {"next": {"href": "/v8/RestoreSessions?offset=60"}}}

    assert types.unwrap_collection(payload, what="restore session") == ([], False)


@pytest.mark.parametrize(("count", "limit", "has_next"), [(2, 2, True), (1, 2, False), (0, 2, False)])
def test_unwrap_collection_page_without_links_continues_only_when_full(count, limit, has_next):
    payload = {"offset": 0, "limit": limit, "results": [{}] * count}

    assert types.unwrap_collection(payload, what="restore session") == ([{}] * count, has_next)


@pytest.mark.parametrize("payload", [{"message": "oops"}, "text", None, {"results": "nope"}])
def test_unwrap_collection_rejects_other_shapes(payload):
    with pytest.raises(UpstreamBadResponse, match="restore session list"):
        types.unwrap_collection(payload, what="restore session")


# -- null, "" and a missing field are the same -------------------------------------------------------------------
# Veeam's v6-v8 schemas leave most strings non-nullable (the simulator leaves them out), older servers and other
# builds send null or "": the portal reads all three alike (CONTRACT.md "Nullability").

ABSENT_FORMS = ["null", "empty", "missing"]


def _with_absent(payload: dict[str, Any], keys: tuple[str, ...], form: str) -> dict[str, Any]:
    out = {k: v for k, v in payload.items() if form != "missing" or k not in keys}
    if form != "missing":
        out.update({k: None if form == "null" else "" for k in keys})
    return out


SESSION_OPTIONAL = ("name", "organization", "endTime", "initiatedBy", "details", "scopeName", "clientHost", "reason",
                    "eTag", "result")


@pytest.mark.parametrize("form", ABSENT_FORMS)
def test_restore_session_reads_null_empty_and_missing_alike(form):
    payload = _with_absent(load_fixture("restore_session_v8.json"), SESSION_OPTIONAL, form)

    session = types.RestoreSessionDTO.from_api(payload)

    assert (session.name, session.organization_name, session.initiated_by, session.details) == ("", "", "", "")
    assert (session.scope_name, session.client_host, session.reason, session.result) == ("", "", "", "")
    assert session.end_time is None and session.etag is None
    assert session.workload == "teams" and session.state == "working"


EVENT_OPTIONAL = ("itemName", "itemType", "itemSizeBytes", "source", "target", "endTime", "duration", "title", "type")


@pytest.mark.parametrize("form", ABSENT_FORMS)
def test_event_reads_null_empty_and_missing_alike(form):
    item_event = load_fixture("restore_session_events_page.json")["results"][1]

    event = types.RestoreSessionEventDTO.from_api(_with_absent(item_event, EVENT_OPTIONAL, form))

    assert (event.item_name, event.item_type, event.source, event.target, event.duration) == ("", "", "", "", "")
    assert event.item_size_bytes is None and event.end_time is None
    assert (event.type, event.title, event.message, event.order) == ("None", "", "Saving Quarterly report.docx", 1)


@pytest.mark.parametrize("form", ABSENT_FORMS)
def test_restore_point_reads_null_empty_and_missing_alike(form):
    point = load_fixture("restore_points_v6.json")[0]

    parsed = types.RestorePointDTO.from_api(_with_absent(point, ("retrievalId", "organizationId", "isTeams"), form))

    assert parsed.organization_id == "" and parsed.id == "1a2b3c4d-0001"
    assert parsed.workloads == ("exchange", "onedrive")


@pytest.mark.parametrize("form", ABSENT_FORMS)
def test_organization_reads_null_empty_and_missing_alike(form):
    org = load_fixture("organizations_v1.json")[0]

    parsed = types.OrganizationDTO.from_api(
        _with_absent(org, ("firstBackuptime", "lastBackuptime", "isBackedup"), form))

    assert parsed.first_backup is None and parsed.last_backup is None and parsed.is_backed_up is False


@pytest.mark.parametrize("form", ["null", "empty"])
@pytest.mark.parametrize("key", ["id", "creationTime", "state", "type"])
def test_a_required_session_field_null_or_empty_is_named_like_a_missing_one(key, form):
    payload = _with_absent(load_fixture("restore_session_v8.json"), (key,), form)

    with pytest.raises(UpstreamBadResponse, match=key):
        types.RestoreSessionDTO.from_api(payload)


# -- token times: RFC-1123 (OWIN, the simulator) or ISO-8601 (the OpenAPI date-time) ---------------------------


@pytest.mark.parametrize("text", ["Mon, 14 Oct 2019 06:53:32 GMT", "Mon, 14 Oct 2019 06:53:32 +0000",
                                  "Mon, 14 Oct 2019 06:53:32", "2019-10-14T06:53:32Z", "2019-10-14T06:53:32.0000000Z",
                                  "2019-10-14T08:53:32+02:00", "2019-10-14T06:53:32"])
def test_token_times_read_rfc_1123_and_iso_8601(text):
    parsed = types.parse_token_time(text, key=".expires")

    assert parsed == datetime(2019, 10, 14, 6, 53, 32, tzinfo=timezone.utc)
    assert parsed.tzinfo == timezone.utc


@pytest.mark.parametrize("empty", [None, ""])
def test_token_times_keep_absent_values_absent(empty):
    assert types.parse_token_time(empty, key=".issued") is None


@pytest.mark.parametrize("bad", ["Mon, 99 Foo 2019 06:53:32 GMT", "tomorrow", 1571035412])
def test_token_times_reject_unreadable_values_naming_the_key(bad):
    with pytest.raises(UpstreamBadResponse, match=r"\.expires"):
        types.parse_token_time(bad, key=".expires")


def _grant(**times: Any) -> dict[str, Any]:
    payload = {k: v for k, v in load_fixture("token_response.json").items() if k not in (".issued", ".expires")}
    payload.pop("expires_in")
    return {**payload, **times}


@pytest.mark.parametrize(("issued", "expires"), [
    ("Mon, 14 Oct 2019 05:53:32 GMT", "Mon, 14 Oct 2019 06:23:32 GMT"),
    ("2019-10-14T05:53:32Z", "2019-10-14T06:23:32.0000000Z"),
    ("2019-10-14T07:53:32+02:00", "Mon, 14 Oct 2019 06:23:32 GMT"),
])
def test_a_token_without_expires_in_lives_from_issued_to_expires(issued, expires):
    from sessions_app.upstream.auth import Token

    before = time.time()
    token = Token.from_grant(_grant(**{".issued": issued, ".expires": expires}))

    # 30 minutes by the server's own clock, counted from now (the dates are years old: skew does not matter).
    assert before + 1800 <= token.expires_at <= time.time() + 1800


def test_a_token_without_expires_in_or_times_lives_the_default_hour():
    from sessions_app.upstream.auth import Token

    before = time.time()
    token = Token.from_grant(_grant())

    assert before + 3600 <= token.expires_at <= time.time() + 3600


def test_expires_in_wins_and_iso_times_beside_it_are_accepted():
    from sessions_app.upstream.auth import Token

    payload = {**load_fixture("token_response.json"), ".issued": "2019-10-14T05:53:32Z",
               ".expires": "2019-10-14T05:54:32Z"}
    before = time.time()
    token = Token.from_grant(payload)

    assert before + 3600 <= token.expires_at <= time.time() + 3600


def test_an_unreadable_expires_without_expires_in_is_a_bad_response():
    from sessions_app.upstream.auth import Token

    with pytest.raises(UpstreamBadResponse, match=r"\.expires"):
        Token.from_grant(_grant(**{".issued": "Mon, 14 Oct 2019 05:53:32 GMT", ".expires": "soon"}))
