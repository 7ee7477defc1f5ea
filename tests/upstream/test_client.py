"""The real UpstreamClient over a stub transport (STYLE.md §38): wire shapes, auth, error mapping, paging."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sessions_app.upstream import auth, errors
from sessions_app.upstream.client import UpstreamClient, build_session
from sessions_app.upstream.config import UpstreamConfig, upstream_config_from_settings
from tests.upstream.stub_transport import Reply, StubAdapter, load_fixture

BASE = "https://vb365.test:4443"
USERNAME = "svc-restore"
PASSWORD = "Zq-7!unique-p4ssw0rd-Zq"
TIMEOUT = (3.05, 27.0)
SESSION_ID = "00000000-0000-0000-0000-000000000000"
ORG_ID = "b9898108-0000-4000-8000-000000000001"
POINT_IN_TIME = datetime(2024, 5, 1, 13, 4, 5, tzinfo=timezone(timedelta(hours=3)))


def make_config(version: int = 8, **overrides: Any) -> UpstreamConfig:
    values: dict[str, Any] = dict(base_url=BASE, username=USERNAME, password=PASSWORD, verify_tls=True,
                                  timeout=TIMEOUT, max_retries=2, api_version=version)
    values.update(overrides)
    return UpstreamConfig(**values)


@pytest.fixture
def stub() -> StubAdapter:
    return StubAdapter()


@pytest.fixture
def make_client(stub: StubAdapter) -> Callable[..., UpstreamClient]:
    def build(version: int = 8, **overrides: Any) -> UpstreamClient:
        session = requests.Session()
        session.mount(BASE, stub)
        return UpstreamClient(make_config(version, **overrides), session=session)

    return build


def session_payload(version: int = 8, **overrides: Any) -> dict[str, Any]:
    name = {1: "restore_session_v1.json", 3: "restore_session_v3.json", 6: "restore_session_v6.json"}.get(
        version, "restore_session_v8.json")
    return {**load_fixture(name), **overrides}


def page(results: list[Any], *, offset: int = 0, limit: int = 30, next_href: str | None = None,
         links: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"offset": offset, "limit": limit, "results": results}
    if links:
        body["_links"] = {"self": {"href": f"/v8/RestoreSessions?offset={offset}&limit={limit}"}}
        if next_href:
            body["_links"]["next"] = {"href": next_href}
    return body


def sessions(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [session_payload(id=f"00000000-0000-0000-0000-{i:012d}") for i in range(start, start + n)]


# -- request basics ------------------------------------------------------------------------------------------


def test_every_request_passes_the_connect_read_timeout_tuple_including_the_token_call(stub, make_client):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    stub.on("POST", f"/v8/RestoreSessions/{SESSION_ID}/Stop", Reply(204))
    client = make_client()

    client.get_restore_session(SESSION_ID)
    client.stop_restore_session(SESSION_ID)

    assert [r.method for r in stub.requests] == ["POST", "GET", "POST"]
    assert stub.requests[0].path == "/v8/Token"
    assert [r.timeout for r in stub.requests] == [TIMEOUT, TIMEOUT, TIMEOUT]


def test_url_is_base_then_version_then_path(stub, make_client):
    stub.token(5).on("GET", f"/v5/RestoreSessions/{SESSION_ID}", Reply(200, session_payload(3)))

    make_client(5).get_restore_session(SESSION_ID)

    assert stub.requests[0].url == f"{BASE}/v5/Token"
    assert stub.requests[1].url == f"{BASE}/v5/RestoreSessions/{SESSION_ID}"


def test_api_calls_carry_the_bearer_token_and_the_token_call_does_not(stub, make_client):
    stub.token(access="at-xyz").on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()))

    make_client().get_restore_session(SESSION_ID)

    token_call, api_call = stub.requests
    assert "Authorization" not in token_call.headers
    assert api_call.headers["Authorization"] == "Bearer at-xyz"


@pytest.mark.parametrize(("version", "antiforgery"), [(1, False), (6, False), (7, True), (8, True)])
def test_token_call_is_a_form_encoded_password_grant(stub, make_client, version, antiforgery):
    stub.token(version).on("GET", f"/v{version}/RestoreSessions/{SESSION_ID}", Reply(200, session_payload(version)))

    make_client(version).get_restore_session(SESSION_ID)

    token_call = stub.requests[0]
    assert token_call.method == "POST"
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    if antiforgery:
        expected["disable_antiforgery_token"] = "true"
    assert token_call.form == expected


# -- token reuse and renewal -----------------------------------------------------------------------------------


def test_one_token_grant_serves_many_requests_and_every_client_with_the_same_config(stub, make_client):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    first, second = make_client(), make_client()

    for _ in range(3):
        first.get_restore_session(SESSION_ID)
    second.get_restore_session(SESSION_ID)

    assert len(stub.calls("POST", "/v8/Token")) == 1
    gets = stub.calls("GET")
    assert len(gets) == 4
    assert {r.headers["Authorization"] for r in gets} == {"Bearer at-1"}


def test_a_fresh_token_outlives_a_flushed_shared_cache_without_a_new_grant(stub, make_client):
    from django.core.cache import cache

    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    client = make_client()
    client.get_restore_session(SESSION_ID)

    cache.clear()  # Redis restarted or evicted the key
    client.get_restore_session(SESSION_ID)

    assert len(stub.calls("POST", "/v8/Token")) == 1
    assert stub.calls("GET")[-1].headers["Authorization"] == "Bearer at-1"


def _cached_token_entry() -> Any:
    from django.core.cache import cache

    return cache.get(auth.CacheTokenStore(make_config().cache_namespace)._key)


def test_the_shared_cache_holds_the_token_sealed_and_the_client_still_uses_it(stub, make_client):
    stub.token(access="at-visible-1", refresh="rt-visible-1")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    make_client().get_restore_session(SESSION_ID)

    raw = _cached_token_entry()
    make_client().get_restore_session(SESSION_ID)  # another worker: reads the sealed entry

    assert isinstance(raw, str) and "at-visible-1" not in raw and "rt-visible-1" not in raw
    assert len(stub.calls("POST", "/v8/Token")) == 1
    assert [r.headers["Authorization"] for r in stub.calls("GET")] == ["Bearer at-visible-1"] * 2


def test_after_a_secret_key_change_the_cached_token_is_a_miss_and_a_new_grant_follows(stub, make_client,
                                                                                       settings):
    stub.token(access="at-1", refresh="rt-1").token(access="at-2", refresh="rt-2")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    make_client().get_restore_session(SESSION_ID)

    settings.SECRET_KEY = "a-rotated-secret-key-without-fallbacks"
    make_client().get_restore_session(SESSION_ID)

    assert [r.form["grant_type"] for r in stub.calls("POST", "/v8/Token")] == ["password", "password"]
    assert stub.calls("GET")[-1].headers["Authorization"] == "Bearer at-2"


def test_a_rotated_secret_key_still_opens_tokens_sealed_with_a_fallback_key(stub, make_client, settings):
    stub.token(access="at-1", refresh="rt-1")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    make_client().get_restore_session(SESSION_ID)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key"
    make_client().get_restore_session(SESSION_ID)

    assert len(stub.calls("POST", "/v8/Token")) == 1


@pytest.mark.parametrize("entry", [
    {"access_token": "at-plain", "refresh_token": "rt-plain", "expires_at": 4102444800.0},
    "not-a-sealed-token",
    12345,
])
def test_an_unreadable_cached_token_is_a_miss_not_an_error(stub, make_client, entry):
    from django.core.cache import cache

    stub.token(access="at-granted")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    cache.set(auth.CacheTokenStore(make_config().cache_namespace)._key, entry)

    make_client().get_restore_session(SESSION_ID)

    assert len(stub.calls("POST", "/v8/Token")) == 1
    assert stub.calls("GET")[-1].headers["Authorization"] == "Bearer at-granted"


def test_after_a_401_a_token_another_worker_renewed_is_used_without_another_grant(stub, make_client):
    stub.token(access="at-1", refresh="rt-1").token(access="at-2", refresh="rt-2")
    ok, expired = Reply(200, session_payload()), Reply(401, {"message": "expired"})
    # first and second on at-1; second is refused and renews; then first is refused.
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", ok, ok, expired, ok, expired, ok)
    first, second = make_client(), make_client()
    first.get_restore_session(SESSION_ID)
    second.get_restore_session(SESSION_ID)
    second.get_restore_session(SESSION_ID)

    first.get_restore_session(SESSION_ID)

    assert [r.form["grant_type"] for r in stub.calls("POST", "/v8/Token")] == ["password", "refresh_token"]
    assert [r.headers["Authorization"] for r in stub.calls("GET")] == [
        "Bearer at-1", "Bearer at-1", "Bearer at-1", "Bearer at-2", "Bearer at-1", "Bearer at-2"]


def test_clients_of_different_accounts_do_not_share_tokens(stub, make_client):
    stub.token(access="at-a").token(access="at-b")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)

    make_client().get_restore_session(SESSION_ID)
    make_client(username="someone-else").get_restore_session(SESSION_ID)

    assert [r.headers["Authorization"] for r in stub.calls("GET")] == ["Bearer at-a", "Bearer at-b"]


def test_token_within_the_expiry_margin_is_refreshed_before_use(stub, make_client):
    assert auth.EXPIRY_MARGIN_SECONDS > 30
    stub.token(expires_in=30, access="at-1", refresh="rt-1").token(access="at-2", refresh="rt-2")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()), repeat=True)
    client = make_client()

    client.get_restore_session(SESSION_ID)
    client.get_restore_session(SESSION_ID)

    assert [(r.method, r.path) for r in stub.requests] == [
        ("POST", "/v8/Token"), ("GET", f"/v8/RestoreSessions/{SESSION_ID}"),
        ("POST", "/v8/Token"), ("GET", f"/v8/RestoreSessions/{SESSION_ID}"),
    ]
    assert stub.requests[2].form["grant_type"] == "refresh_token"
    assert stub.requests[2].form["refresh_token"] == "rt-1"
    assert stub.requests[3].headers["Authorization"] == "Bearer at-2"


def test_401_renews_the_token_once_with_the_refresh_grant_and_retries_once(stub, make_client):
    stub.token(access="at-1", refresh="rt-1").token(access="at-2", refresh="rt-2")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}",
            Reply(401, {"message": "Authorization has been denied for this request."}), Reply(200, session_payload()))

    result = make_client().get_restore_session(SESSION_ID)

    assert result.id == SESSION_ID
    assert [(r.method, r.form.get("grant_type") if r.method == "POST" else r.headers["Authorization"])
            for r in stub.requests] == [
        ("POST", "password"), ("GET", "Bearer at-1"), ("POST", "refresh_token"), ("GET", "Bearer at-2"),
    ]
    assert stub.requests[2].form["refresh_token"] == "rt-1"


def test_refused_refresh_grant_falls_back_to_a_password_grant(stub, make_client):
    stub.token(access="at-1", refresh="rt-1")
    stub.on("POST", "/v8/Token", Reply(400, load_fixture("token_error.json")))
    stub.token(access="at-3", refresh="rt-3")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(401, {"message": "expired"}),
            Reply(200, session_payload()))

    make_client().get_restore_session(SESSION_ID)

    grants = [r.form["grant_type"] for r in stub.calls("POST", "/v8/Token")]
    assert grants == ["password", "refresh_token", "password"]
    assert stub.calls("GET")[-1].headers["Authorization"] == "Bearer at-3"


def test_second_401_after_renewal_raises_auth_error(stub, make_client):
    stub.token(access="at-1").token(access="at-2")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(401, {"message": "Denied."}), repeat=True)

    with pytest.raises(errors.UpstreamAuthError) as caught:
        make_client().get_restore_session(SESSION_ID)

    assert caught.value.status_code == 401
    assert len(stub.calls("GET")) == 2
    assert len(stub.calls("POST", "/v8/Token")) == 2


def test_refused_password_grant_raises_auth_error_with_the_server_words_and_never_the_password(
        stub, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sessions_app.upstream")
    stub.on("POST", "/v8/Token", Reply(400, load_fixture("token_error.json")))

    with pytest.raises(errors.UpstreamAuthError) as caught:
        make_client().get_restore_session(SESSION_ID)

    exc = caught.value
    assert exc.status_code == 400
    assert "The user name or password is incorrect." in str(exc)
    for text in (str(exc), repr(exc), exc.message, str(exc.body), str(exc.args)):
        assert PASSWORD not in text
    assert caplog.records, "the client logs its requests at DEBUG"
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    assert PASSWORD not in caplog.text
    assert stub.calls("GET") == []


def test_successful_grant_and_calls_never_log_the_password_or_tokens(stub, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sessions_app.upstream")
    stub.token(access="at-secret-token").on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, session_payload()))

    make_client().get_restore_session(SESSION_ID)

    assert len(caplog.records) >= 2
    assert PASSWORD not in caplog.text
    assert "at-secret-token" not in caplog.text


# -- error mapping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "error_class"), [
    (400, errors.UpstreamRejected),
    (409, errors.UpstreamRejected),
    (422, errors.UpstreamRejected),
    (401, errors.UpstreamAuthError),
    (403, errors.UpstreamAuthError),
    (404, errors.UpstreamNotFound),
    (500, errors.UpstreamRejected),
    (502, errors.UpstreamUnavailable),
    (503, errors.UpstreamUnavailable),
    (504, errors.UpstreamUnavailable),
])
def test_each_status_maps_to_its_error_class_with_the_server_message(stub, make_client, status, error_class):
    stub.token().token(access="at-2")
    stub.on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(status, load_fixture("error_v8.json")), repeat=True)

    with pytest.raises(errors.UpstreamError) as caught:
        make_client().get_restore_session(SESSION_ID)

    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert caught.value.message == "The value 'Vxx' is not valid for type."
    assert caught.value.error_code == "ParameterValidationFailure"
    assert str(caught.value) == f"{status}: The value 'Vxx' is not valid for type."


def test_rejected_without_error_code_in_v6_keeps_the_message(stub, make_client):
    stub.token(6).on("POST", f"/v6/Organizations/{ORG_ID}/explore", Reply(500, load_fixture("error_v6.json")))

    with pytest.raises(errors.UpstreamRejected) as caught:
        make_client(6).start_restore_session(organization_id=ORG_ID, point_in_time=POINT_IN_TIME,
                                             workload="exchange")

    assert caught.value.message == "Restore session cannot be created."
    assert caught.value.error_code is None
    assert caught.value.retryable is False


def test_error_without_json_body_names_the_status(stub, make_client):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(409, body=b"<html>Conflict</html>"))

    with pytest.raises(errors.UpstreamRejected) as caught:
        make_client().get_restore_session(SESSION_ID)

    assert caught.value.status_code == 409
    assert "409" in caught.value.message


@pytest.mark.parametrize(("raised", "error_class"), [
    (requests.exceptions.ConnectionError("refused"), errors.UpstreamUnavailable),
    (requests.exceptions.ReadTimeout("slow"), errors.UpstreamTimeout),
    (requests.exceptions.ConnectTimeout("no syn-ack"), errors.UpstreamUnavailable),
    (requests.exceptions.RetryError("gave up"), errors.UpstreamUnavailable),
    (requests.exceptions.SSLError("self-signed"), errors.UpstreamUnavailable),
])
def test_transport_failures_map_to_their_error_class(stub, make_client, raised, error_class):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", raised)

    with pytest.raises(errors.UpstreamError) as caught:
        make_client().get_restore_session(SESSION_ID)

    assert type(caught.value) is error_class
    assert caught.value.retryable is True


def test_read_timeout_message_names_the_read_timeout(stub, make_client):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", requests.exceptions.ReadTimeout("slow"))

    with pytest.raises(errors.UpstreamTimeout, match="27 seconds"):
        make_client().get_restore_session(SESSION_ID)


def test_unreachable_token_endpoint_is_unavailable_not_an_auth_error(stub, make_client):
    stub.on("POST", "/v8/Token", requests.exceptions.ConnectionError("refused"))

    with pytest.raises(errors.UpstreamUnavailable):
        make_client().get_restore_session(SESSION_ID)


def test_malformed_json_raises_bad_response(stub, make_client):
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, body=b'{"offset":0,"results":[{"id":'))

    with pytest.raises(errors.UpstreamBadResponse) as caught:
        make_client().get_restore_session(SESSION_ID)

    assert caught.value.status_code == 200


def test_session_without_id_raises_bad_response_naming_the_key(stub, make_client):
    payload = session_payload()
    del payload["id"]
    stub.token().on("GET", f"/v8/RestoreSessions/{SESSION_ID}", Reply(200, payload))

    with pytest.raises(errors.UpstreamBadResponse, match="`id`"):
        make_client().get_restore_session(SESSION_ID)


def test_token_reply_without_access_token_raises_bad_response(stub, make_client):
    stub.on("POST", "/v8/Token", Reply(200, {"token_type": "bearer", "expires_in": 3600}))

    with pytest.raises(errors.UpstreamBadResponse, match="access_token"):
        make_client().get_restore_session(SESSION_ID)


# -- starting and stopping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201])
def test_explore_accepts_200_and_201(stub, make_client, status):
    stub.token().on("POST", f"/v8/Organizations/{ORG_ID}/explore", Reply(status, session_payload()))

    session = make_client().start_restore_session(organization_id=ORG_ID, point_in_time=POINT_IN_TIME,
                                                  workload="teams")

    assert session.id == SESSION_ID
    assert session.workload == "teams"
    assert session.state == "working"


EXPLORE_CASES = [
    (1, "exchange", f"/v1/Organizations/{ORG_ID}/Action", {"explore": {"datetime": "2024.05.01 10:04:05"}}),
    (2, "sharepoint", f"/v2/Organizations/{ORG_ID}/Action",
     {"explore": {"datetime": "2024.05.01 10:04:05", "type": "vesp"}}),
    (3, "onedrive", f"/v3/Organizations/{ORG_ID}/Action",
     {"explore": {"datetime": "2024.05.01 10:04:05", "type": "veod", "showDeleted": True, "showAllVersions": False}}),
    (5, "teams", f"/v5/Organizations/{ORG_ID}/Action",
     {"explore": {"datetime": "2024.05.01 10:04:05", "type": "vet", "showDeleted": True, "showAllVersions": False}}),
    (6, "exchange", f"/v6/Organizations/{ORG_ID}/explore",
     {"dateTime": "2024-05-01T10:04:05Z", "type": "Vex", "showDeleted": True, "showAllVersions": False}),
    (8, "onedrive", f"/v8/Organizations/{ORG_ID}/explore",
     {"dateTime": "2024-05-01T10:04:05Z", "type": "Veod", "showDeleted": True, "showAllVersions": False}),
]


@pytest.mark.parametrize(("version", "workload", "path", "body"), EXPLORE_CASES)
def test_admin_explore_path_and_body_per_version(stub, make_client, version, workload, path, body):
    stub.token(version).on("POST", path, Reply(201, session_payload(version)))

    make_client(version).start_restore_session(organization_id=ORG_ID, point_in_time=POINT_IN_TIME,
                                               workload=workload, show_deleted=True, show_all_versions=False)

    call = stub.calls("POST", path)[0]
    assert call.json == body
    assert call.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("version", "path", "key", "sent"), [
    (1, f"/v1/Organizations/{ORG_ID}/Action", "datetime", "0029.01.01 00:00:00"),
    (8, f"/v8/Organizations/{ORG_ID}/explore", "dateTime", "0029-01-01T00:00:00Z"),
])
def test_explore_writes_a_year_before_1000_with_four_digits(stub, make_client, version, path, key, sent):
    stub.token(version).on("POST", path, Reply(201, session_payload(version)))

    make_client(version).start_restore_session(organization_id=ORG_ID, workload="exchange",
                                               point_in_time=datetime(29, 1, 1, tzinfo=timezone.utc))

    body = stub.calls("POST", path)[0].json
    assert (body.get("explore") or body)[key] == sent


@pytest.mark.parametrize(("version", "path"), [
    (2, "/v2/Organization/Action"), (5, "/v5/Organization/Action"),
    (6, "/v6/Organization/Explore"), (8, "/v8/Organization/Explore"),
])
def test_tenant_explore_path_per_version(stub, make_client, version, path):
    stub.token(version).on("POST", path, Reply(201, session_payload(version)))

    make_client(version).start_restore_session(organization_id=None, point_in_time=POINT_IN_TIME, workload="exchange")

    assert len(stub.calls("POST", path)) == 1


def test_v1_tenant_explore_uses_restore_sessions_action(stub, make_client):
    stub.token(1).on("POST", "/v1/RestoreSessions/Action", Reply(201, session_payload(1)))
    stub.on("POST", "/v1/Organization/Action", Reply(404, {"message": "No HTTP resource was found."}))

    make_client(1).start_restore_session(organization_id=None, point_in_time=POINT_IN_TIME, workload="exchange")

    assert len(stub.calls("POST", "/v1/RestoreSessions/Action")) == 1


@pytest.mark.parametrize(("version", "path", "body", "reply"), [
    (1, f"/v1/RestoreSessions/{SESSION_ID}/Action", {"stop": None}, Reply(200)),
    (5, f"/v5/RestoreSessions/{SESSION_ID}/Action", {"stop": None}, Reply(200)),
    (6, f"/v6/RestoreSessions/{SESSION_ID}/Stop", None, Reply(200)),
    (7, f"/v7/RestoreSessions/{SESSION_ID}/Stop", None, Reply(200)),
    (8, f"/v8/RestoreSessions/{SESSION_ID}/Stop", None, Reply(204)),
])
def test_stop_path_and_body_per_version_accepting_200_and_204(stub, make_client, version, path, body, reply):
    stub.token(version).on("POST", path, reply)

    assert make_client(version).stop_restore_session(SESSION_ID) is None

    call = stub.calls("POST", path)[0]
    assert call.json == body
    assert call.body == (b"" if body is None else b'{"stop": null}')


def test_stop_of_a_stopped_session_raises_rejected_with_the_server_message(stub, make_client):
    stub.token().on("POST", f"/v8/RestoreSessions/{SESSION_ID}/Stop",
                    Reply(400, {"message": "The restore session is already stopped.",
                                "errorCode": "OperationConflict"}))

    with pytest.raises(errors.UpstreamRejected, match="already stopped"):
        make_client().stop_restore_session(SESSION_ID)


def test_writes_are_sent_once_even_on_503(stub, make_client):
    stub.token().on("POST", f"/v8/RestoreSessions/{SESSION_ID}/Stop", Reply(503, {"message": "Busy."}), repeat=True)

    with pytest.raises(errors.UpstreamUnavailable):
        make_client().stop_restore_session(SESSION_ID)

    assert len(stub.calls("POST", f"/v8/RestoreSessions/{SESSION_ID}/Stop")) == 1


# -- collections and paging -------------------------------------------------------------------------------


def test_v1_sessions_come_as_a_plain_array(stub, make_client):
    stub.token(1).on("GET", "/v1/RestoreSessions", Reply(200, load_fixture("restore_sessions_v1.json")), repeat=True)
    client = make_client(1)

    everything = list(client.iter_restore_sessions())
    first = client.list_restore_sessions(offset=0, limit=1)
    second = client.list_restore_sessions(offset=1, limit=1)

    assert [s.id for s in everything] == ["9f786f0f-0000-4000-8000-0000000000a1",
                                          "9f786f0f-0000-4000-8000-0000000000a2"]
    assert len(stub.calls("GET")) == 3  # one per call: a plain array is the whole collection
    assert [s.id for s in first.items] == [everything[0].id] and first.has_more is True
    assert [s.id for s in second.items] == [everything[1].id] and second.has_more is False


@pytest.mark.parametrize("version", [1, 4, 7])
def test_organizations_come_as_a_plain_array_up_to_v7(stub, make_client, version):
    stub.token(version).on("GET", f"/v{version}/Organizations", Reply(200, load_fixture("organizations_v1.json")))

    organizations = make_client(version).list_organizations()

    assert [(o.name, o.is_backed_up) for o in organizations] == [
        ("example.onmicrosoft.com", True), ("other.onmicrosoft.com", False)]
    assert len(stub.calls("GET")) == 1


def test_organizations_come_as_a_page_in_v8(stub, make_client):
    stub.token().on("GET", "/v8/Organizations", Reply(200, load_fixture("organizations_page_v8.json")))

    organizations = make_client().list_organizations()

    assert [o.name for o in organizations] == ["example.onmicrosoft.com"]
    assert len(stub.calls("GET")) == 1


def test_iteration_follows_next_links_and_stops_on_the_last_page(stub, make_client):
    stub.token()
    stub.on("GET", "/v8/RestoreSessions",
            Reply(200, page(sessions(2), limit=2, next_href="/v8/RestoreSessions?offset=2&limit=2")),
            Reply(200, page(sessions(2, start=2), offset=2, limit=2)))

    found = list(make_client().iter_restore_sessions(page_size=2))

    assert [s.id[-2:] for s in found] == ["00", "01", "02", "03"]
    assert [r.query["offset"] for r in stub.calls("GET")] == [["0"], ["2"]]
    assert [r.query["limit"] for r in stub.calls("GET")] == [["2"], ["2"]]


def test_iteration_without_links_stops_on_a_short_page(stub, make_client):
    stub.token()
    stub.on("GET", "/v8/RestoreSessions",
            Reply(200, page(sessions(2), limit=2, links=False)),
            Reply(200, page(sessions(1, start=2), offset=2, limit=2, links=False)))

    found = list(make_client().iter_restore_sessions(page_size=2))

    assert len(found) == 3
    assert len(stub.calls("GET")) == 2


def test_a_reader_that_stops_early_requests_no_further_page(stub, make_client):
    stub.token()
    stub.on("GET", "/v8/RestoreSessions",
            Reply(200, page(sessions(2), limit=2, next_href="/v8/RestoreSessions?offset=2&limit=2")))

    first = next(make_client().iter_restore_sessions(page_size=2))

    assert first.id.endswith("00")
    assert len(stub.calls("GET")) == 1


def test_an_empty_collection_is_one_empty_page(stub, make_client):
    stub.token().on("GET", "/v8/RestoreSessions", Reply(200, page([], limit=5)), repeat=True)

    result = make_client().list_restore_sessions(limit=5)

    assert result.items == [] and result.has_more is False
    assert list(make_client().iter_restore_session_pages()) == []


@pytest.mark.parametrize(("total_count", "reported"), [(3, [3]), (None, []), ("many", []), ("absent", [])])
def test_session_pages_carry_the_total_where_a_v6_page_gives_it(stub, make_client, total_count, reported):
    v6_sessions = [session_payload(6, id=f"00000000-0000-0000-0000-{i:012d}") for i in range(3)]
    first = page(v6_sessions[:2], limit=2, next_href="/v6/RestoreSessions?offset=2&limit=2")
    second = page(v6_sessions[2:], offset=2, limit=2)
    if total_count != "absent":
        first["totalCount"] = second["totalCount"] = total_count
    stub.token(6).on("GET", "/v6/RestoreSessions", Reply(200, first), Reply(200, second))

    pages = list(make_client(6).iter_restore_session_pages(page_size=2))

    assert [len(p.items) for p in pages] == [2, 1]
    assert sorted({p.total for p in pages if p.total is not None}) == reported


def test_a_v1_session_array_reports_its_length_as_the_total(stub, make_client):
    v1_sessions = [session_payload(1, id=f"00000000-0000-0000-0000-{i:012d}") for i in range(5)]
    stub.token(1).on("GET", "/v1/RestoreSessions", Reply(200, v1_sessions), repeat=True)

    pages = list(make_client(1).iter_restore_session_pages(page_size=2))

    assert [len(p.items) for p in pages] == [2, 2, 1] and [p.total for p in pages] == [5, 5, 5]
    assert len(stub.calls("GET")) == 1  # the array is the whole collection: read once, cut into pages here


def test_list_restore_sessions_reports_more_pages_from_the_next_link(stub, make_client):
    stub.token(6).on("GET", "/v6/RestoreSessions", Reply(200, load_fixture("restore_sessions_page_v6.json")))

    result = make_client(6).list_restore_sessions(limit=2)

    assert [s.workload for s in result.items] == ["exchange", "onedrive"]
    assert result.has_more is True
    assert stub.calls("GET")[0].query == {"offset": ["0"], "limit": ["2"]}


@pytest.mark.parametrize(("version", "sent"), [(3, False), (4, True), (8, True)])
def test_start_time_filter_is_only_sent_from_v4(stub, make_client, version, sent):
    stub.token(version).on("GET", f"/v{version}/RestoreSessions", Reply(200, page([])))

    make_client(version).list_restore_sessions(start_time_from=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc))

    query = stub.calls("GET")[0].query
    assert ("startTimeFrom" in query) is sent
    if sent:
        assert query["startTimeFrom"] == ["2024-01-02T03:04:05.000000Z"]


def test_start_time_filter_is_converted_to_utc(stub, make_client):
    stub.token().on("GET", "/v8/RestoreSessions", Reply(200, page([])))

    moscow_noon = datetime(2024, 1, 2, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    make_client().list_restore_sessions(start_time_from=moscow_noon)

    assert stub.calls("GET")[0].query["startTimeFrom"] == ["2024-01-02T09:00:00.000000Z"]


@pytest.mark.parametrize("version", [1, 5])
def test_restore_points_are_empty_before_v6_without_a_request(stub, make_client, version):
    assert make_client(version).list_restore_points(organization_id=ORG_ID) == []
    assert stub.requests == []


def test_restore_points_in_v6_come_as_an_array_newest_first(stub, make_client):
    stub.token(6).on("GET", "/v6/RestorePoints", Reply(200, load_fixture("restore_points_v6.json")))

    points = make_client(6).list_restore_points(organization_id=ORG_ID)

    assert [p.id for p in points] == ["1a2b3c4d-0002", "1a2b3c4d-0001"]
    assert points[0].workloads == ("sharepoint", "teams")
    assert points[1].workloads == ("exchange", "onedrive")
    query = stub.calls("GET")[0].query
    assert query["organizationId"] == [ORG_ID]
    assert "orderAsc" not in query


def test_restore_points_limit_keeps_the_newest_in_v6(stub, make_client):
    stub.token(6).on("GET", "/v6/RestorePoints", Reply(200, load_fixture("restore_points_v6.json")))

    points = make_client(6).list_restore_points(organization_id=ORG_ID, limit=1)

    assert [p.id for p in points] == ["1a2b3c4d-0002"]


def test_restore_points_in_v7_come_as_a_page_and_ask_for_newest_first(stub, make_client):
    stub.token(7).on("GET", "/v7/RestorePoints", Reply(200, load_fixture("restore_points_page_v7.json")))

    points = make_client(7).list_restore_points(organization_id=ORG_ID, limit=50)

    assert [p.workloads for p in points] == [("exchange", "onedrive", "sharepoint", "teams")]
    query = stub.calls("GET")[0].query
    assert query["orderAsc"] == ["false"] and query["limit"] == ["50"]


def test_events_are_empty_in_v1_without_a_request(stub, make_client):
    client = make_client(1)

    assert client.list_restore_session_events(SESSION_ID).items == []
    assert list(client.iter_restore_session_events(SESSION_ID)) == []
    assert stub.requests == []


def test_events_come_as_a_page_from_v2(stub, make_client):
    stub.token(2).on("GET", f"/v2/RestoreSessions/{SESSION_ID}/Events",
                     Reply(200, load_fixture("restore_session_events_page.json")))

    result = make_client(2).list_restore_session_events(SESSION_ID)

    assert [e.title for e in result.items] == ["Restore session started", "Saving item"]
    assert result.has_more is False
    assert stub.calls("GET")[0].query == {"offset": ["0"], "limit": ["30"]}


# -- retry policy, session and settings -------------------------------------------------------------------


def test_reads_are_retried_by_the_adapter_and_writes_are_not():
    config = make_config(max_retries=4, verify_tls="/etc/ssl/vb365-ca.pem")

    for session in (build_session(config), UpstreamClient(config)._session):
        adapter = session.get_adapter(BASE)
        assert isinstance(adapter, HTTPAdapter)
        retry = adapter.max_retries
        assert isinstance(retry, Retry)
        assert retry.total == 4
        assert set(retry.allowed_methods or ()) == {"GET"}
        assert set(retry.status_forcelist) == {502, 503, 504}
        assert retry.raise_on_status is False
        assert session.verify == "/etc/ssl/vb365-ca.pem"
        assert session.headers["Accept"] == "application/json"


def test_the_environments_proxy_and_ca_bundle_are_read_once_when_the_session_is_built(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = build_session(make_config())
    assert session.trust_env is False  # nothing is looked up again per call
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/corporate-ca.pem"

    monkeypatch.setenv("NO_PROXY", BASE.split("//")[1].split("/")[0].split(":")[0])
    assert "https" not in build_session(make_config()).proxies
    assert build_session(make_config(verify_tls=False)).verify is False


def test_client_closes_its_session_as_a_context_manager(stub):
    closed = []
    session = requests.Session()
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]

    with UpstreamClient(make_config(), session=session):
        pass

    assert closed == [True]


def test_config_from_settings_names_every_missing_key(settings):
    settings.VB365_URL = ""
    settings.VB365_USERNAME = ""
    settings.VB365_PASSWORD = ""

    with pytest.raises(ImproperlyConfigured) as caught:
        upstream_config_from_settings()

    for key in ("VB365_URL", "VB365_USERNAME", "VB365_PASSWORD"):
        assert key in str(caught.value)


@pytest.mark.parametrize("version", [0, 9])
def test_config_from_settings_rejects_unknown_api_versions(settings, version):
    settings.VB365_API_VERSION = version

    with pytest.raises(ImproperlyConfigured, match="VB365_API_VERSION"):
        upstream_config_from_settings()


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("True", True), ("false", False), ("FALSE", False), (True, True), (False, False),
    ("/etc/ssl/certs/vb365-ca.pem", "/etc/ssl/certs/vb365-ca.pem"),
])
def test_config_from_settings_parses_verify_tls(settings, value, expected):
    settings.VB365_VERIFY_TLS = value

    assert upstream_config_from_settings().verify_tls == expected


def test_config_from_settings_reads_every_value(settings):
    settings.VB365_URL = "https://vb365.example.local:4443/"
    settings.VB365_API_VERSION = "6"
    settings.VB365_CONNECT_TIMEOUT = "2.5"
    settings.VB365_READ_TIMEOUT = 40
    settings.VB365_MAX_RETRIES = "3"

    config = upstream_config_from_settings()

    assert config.base_url == "https://vb365.example.local:4443"
    assert config.api_version == 6
    assert config.timeout == (2.5, 40.0)
    assert config.max_retries == 3
    assert config.username == settings.VB365_USERNAME and config.password == settings.VB365_PASSWORD


def test_config_from_settings_names_missing_and_invalid_keys_together(settings):
    settings.VB365_URL = ""
    settings.VB365_API_VERSION = 9

    with pytest.raises(ImproperlyConfigured) as caught:
        upstream_config_from_settings()

    assert "VB365_URL" in str(caught.value) and "VB365_API_VERSION" in str(caught.value)


def test_config_from_settings_rejects_a_non_numeric_version(settings):
    settings.VB365_API_VERSION = "eight"

    with pytest.raises(ImproperlyConfigured, match="VB365_API_VERSION"):
        upstream_config_from_settings()
