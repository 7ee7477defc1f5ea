"""The real UpstreamClient over real HTTP against vb365_sim, per API version family."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from django.core.cache import cache

from sessions_app.upstream import errors
from sessions_app.upstream.auth import CacheTokenStore
from sessions_app.upstream.client import UpstreamClient, get_client
from sessions_app.upstream.config import upstream_config_from_settings
from sessions_app.upstream.wire import ALL_WORKLOADS

pytestmark = pytest.mark.integration

FAMILIES = [1, 4, 5, 6, 8]
SESSION_ROUTE = "GET /v{}/RestoreSessions/{{restoreSessionId}}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _start(client: UpstreamClient, org: dict[str, Any]) -> Any:
    return client.start_restore_session(organization_id=org["id"], point_in_time=_now(), workload="exchange")


def _delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    return int(after["requests"].get(key, 0)) - int(before["requests"].get(key, 0))


@pytest.mark.parametrize("version", FAMILIES)
class TestSessionLifecycle:
    def test_start_returns_a_working_exchange_session(self, upstream, version):
        sim = upstream(version)
        org = sim.organization(backed_up=True)

        session = _start(get_client(), org)

        assert len(session.id) == 36
        assert (session.workload, session.state, session.end_time) == ("exchange", "working", None)
        assert abs((_now() - session.creation_time).total_seconds()) < 120
        if version >= 2:
            assert session.organization_name == org["name"]

    def test_get_reads_the_started_session(self, upstream, version):
        sim = upstream(version)
        client = get_client()
        started = _start(client, sim.organization(backed_up=True))

        fetched = client.get_restore_session(started.id)

        assert (fetched.id, fetched.state, fetched.workload) == (started.id, "working", "exchange")
        assert fetched.creation_time == started.creation_time

    def test_list_shows_the_new_session_in_the_first_page(self, upstream, version):
        sim = upstream(version)
        client = get_client()
        started = _start(client, sim.organization(backed_up=True))

        first_page = client.list_restore_sessions()

        assert started.id in [s.id for s in first_page.items]
        assert len(first_page.items) <= 30
        assert first_page.has_more is True  # the simulator holds 200 sessions of history

    def test_events_start_with_session_started_from_v2(self, upstream, version):
        sim = upstream(version)
        client = get_client()
        started = _start(client, sim.organization(backed_up=True))

        events = client.list_restore_session_events(started.id)

        if version == 1:
            assert events.items == []
        else:
            assert events.items[0].title == "Restore session started"
            assert events.items[0].order == 0

    def test_stop_sets_stopped_and_end_time_and_a_second_stop_is_rejected(self, upstream, version):
        sim = upstream(version)
        client = get_client()
        started = _start(client, sim.organization(backed_up=True))

        client.stop_restore_session(started.id)
        stopped = client.get_restore_session(started.id)

        assert stopped.state == "stopped"
        assert stopped.end_time is not None and stopped.end_time >= stopped.creation_time
        with pytest.raises(errors.UpstreamRejected) as caught:
            client.stop_restore_session(started.id)
        assert caught.value.status_code == 409
        assert "already stopped" in caught.value.message

    def test_unknown_session_is_not_found(self, upstream, version):
        upstream(version)

        with pytest.raises(errors.UpstreamNotFound):
            get_client().get_restore_session("0badc0de-0000-4000-8000-000000000000")


@pytest.mark.parametrize("version", [6, 8])
def test_restore_points_list_newest_first_with_workload_flags(upstream, version):
    sim = upstream(version)
    org = sim.organization(backed_up=True)

    points = get_client().list_restore_points(organization_id=org["id"], limit=50)

    assert 0 < len(points) <= 50
    assert all(p.organization_id == org["id"].lower() for p in points)
    assert all(p.workloads and set(p.workloads) <= set(ALL_WORKLOADS) for p in points)
    assert [p.backup_time for p in points] == sorted((p.backup_time for p in points), reverse=True)


def test_organizations_list_in_v1_and_v8(upstream):
    names = {}
    for version in (1, 8):
        sim = upstream(version)
        names[version] = {o.name: o.is_backed_up for o in get_client().list_organizations()}

    expected = {o["name"]: o["is_backed_up"] for o in sim.info()["organizations"]}
    assert names[1] == expected and names[8] == expected


def test_one_token_grant_serves_many_calls_and_clients(upstream):
    sim = upstream(8)
    org = sim.organization(backed_up=True)
    before = sim.stats()

    client = get_client()
    client.list_organizations()
    session = _start(client, org)
    client.get_restore_session(session.id)
    UpstreamClient(upstream_config_from_settings()).list_restore_sessions()
    get_client().list_restore_session_events(session.id)

    after = sim.stats()
    assert after["token_grants"] - before["token_grants"] == 1
    assert _delta(before, after, "POST /v8/Token") == 1


def test_the_cached_service_account_token_is_sealed_and_useless_as_a_bearer(upstream):
    sim = upstream(8)
    config = upstream_config_from_settings()
    UpstreamClient(config).list_organizations()
    store = CacheTokenStore(config.cache_namespace)

    raw = cache.get(store._key)
    token = store.load()

    assert token is not None and token.is_fresh()
    assert isinstance(raw, str)
    assert token.access_token not in raw and token.refresh_token not in raw
    with_raw = requests.get(f"{sim.url}/v8/Organizations", headers={"Authorization": f"Bearer {raw}"}, timeout=5)
    with_token = requests.get(f"{sim.url}/v8/Organizations",
                              headers={"Authorization": f"Bearer {token.access_token}"}, timeout=5)
    assert (with_raw.status_code, with_token.status_code) == (401, 200)


def test_expired_token_mid_flow_is_renewed_and_the_call_succeeds(upstream):
    sim = upstream(8)
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    before = sim.stats()

    sim.expire_tokens()
    fetched = client.get_restore_session(session.id)

    after = sim.stats()
    assert fetched.id == session.id
    assert after["token_grants"] - before["token_grants"] == 1
    assert _delta(before, after, "POST /v8/Token") == 1
    assert _delta(before, after, SESSION_ROUTE.format(8)) == 2  # the 401 and the retry
    assert after["statuses"].get("401", 0) - before["statuses"].get("401", 0) == 1


def test_persistent_503_on_a_read_is_retried_then_unavailable(upstream, settings):
    sim = upstream(8)
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    settings.VB365_MAX_RETRIES = 2
    retrying = get_client()
    retrying.list_organizations()  # takes the token before the fault
    sim.fault(status=503, path=rf"^/v8/RestoreSessions/{session.id}$")
    before = sim.stats()

    with pytest.raises(errors.UpstreamUnavailable) as caught:
        retrying.get_restore_session(session.id)

    assert caught.value.status_code == 503
    assert _delta(before, sim.stats(), SESSION_ROUTE.format(8)) == 3


def test_503_on_a_write_is_not_retried(upstream, settings):
    sim = upstream(8)
    settings.VB365_MAX_RETRIES = 2
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    sim.fault(status=503, path=r"/Stop$")
    before = sim.stats()

    with pytest.raises(errors.UpstreamUnavailable):
        client.stop_restore_session(session.id)

    assert _delta(before, sim.stats(), "POST /v8/RestoreSessions/{restoreSessionId}/Stop") == 1


def test_latency_longer_than_the_read_timeout_on_a_write_is_a_timeout(upstream, settings):
    sim = upstream(8)
    settings.VB365_READ_TIMEOUT = 0.3
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    sim.fault(latency_ms=800, path=r"/Stop$")

    with pytest.raises(errors.UpstreamTimeout):
        client.stop_restore_session(session.id)


def test_latency_longer_than_the_read_timeout_on_a_read_is_a_timeout(upstream, settings):
    sim = upstream(8)
    settings.VB365_READ_TIMEOUT = 0.3
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    sim.fault(latency_ms=800, path=rf"^/v8/RestoreSessions/{session.id}$")

    with pytest.raises(errors.UpstreamTimeout):
        client.get_restore_session(session.id)


def test_malformed_reply_is_a_bad_response(upstream):
    sim = upstream(8)
    client = get_client()
    session = _start(client, sim.organization(backed_up=True))
    sim.fault(malformed=True, path=rf"^/v8/RestoreSessions/{session.id}$")

    with pytest.raises(errors.UpstreamBadResponse):
        client.get_restore_session(session.id)


def test_server_down_is_unavailable(upstream):
    sim = upstream(8)
    client = get_client()
    client.list_organizations()
    sim.fault(down=True)

    with pytest.raises(errors.UpstreamUnavailable):
        client.list_organizations()
    with pytest.raises(errors.UpstreamUnavailable):
        get_client().stop_restore_session("0badc0de-0000-4000-8000-000000000000")


def test_wrong_password_is_an_auth_error_without_the_password(upstream, settings):
    upstream(8)
    settings.VB365_PASSWORD = "definitely-wrong-Pw-7731"

    with pytest.raises(errors.UpstreamAuthError) as caught:
        get_client().list_organizations()

    assert caught.value.status_code == 400
    assert "definitely-wrong-Pw-7731" not in f"{caught.value}{caught.value!r}{caught.value.body}"


def test_start_time_filter_from_v4_only_returns_recent_sessions(upstream):
    sim = upstream(4)
    client = get_client()
    started = _start(client, sim.organization(backed_up=True))

    recent = list(client.iter_restore_sessions(start_time_from=_now() - timedelta(minutes=5)))

    assert started.id in [s.id for s in recent]
    assert all(s.creation_time >= _now() - timedelta(minutes=6) for s in recent)


@pytest.mark.parametrize("version", [6, 7, 8])
def test_fields_the_simulator_leaves_out_read_as_blank(upstream, version):
    # vb365_sim leaves out what the v6-v8 schemas do not let be null: no reason, no item on the session's own
    # events, no target on a View, scopeName "" without a scope.
    sim = upstream(version)
    client = get_client()
    started = _start(client, sim.organization(backed_up=True))
    client.stop_restore_session(started.id)

    fetched = client.get_restore_session(started.id)
    events = list(client.iter_restore_session_events(started.id))

    assert (fetched.scope_name, fetched.reason, fetched.state) == ("", "", "stopped")
    assert fetched.client_host == "127.0.0.1"
    first, last = events[0], events[-1]
    assert (first.title, last.title) == ("Restore session started", "Restore session stopped")
    assert (first.item_name, first.item_type, first.item_size_bytes, first.source, first.target) == (
        "", "", None, "", "")
