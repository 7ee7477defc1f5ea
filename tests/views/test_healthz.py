"""GET /healthz: JSON readiness of database, cache and upstream."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from sessions_app.services.health import UPSTREAM_CACHE_KEY


@pytest.mark.django_db
def test_healthy_when_everything_answers(client, upstream):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "upstream"}
    assert all(check["ok"] for check in body["checks"].values())
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_upstream_down_gives_503_with_the_reason_for_staff(client, upstream, sim, admin_user):
    sim.fault(down=True, path="ServiceInstance")
    client.force_login(admin_user)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] and not body["checks"]["upstream"]["ok"]
    assert "Unavailable" in body["checks"]["upstream"]["detail"]
    assert body["checks"]["database"]["detail"] == connection.vendor


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "operator"])
def test_others_learn_only_ok_or_failing_per_component(client, upstream, sim, operator, who):
    sim.fault(down=True, path="ServiceInstance")
    if who == "operator":
        client.force_login(operator)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {
        "database": {"ok": True}, "cache": {"ok": True}, "upstream": {"ok": False}}}
    assert connection.vendor not in response.content.decode()


@pytest.mark.django_db
def test_a_database_error_text_is_not_shown_to_anonymous_callers(client, upstream, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError('could not connect to server: Connection refused. Is the server on "db-7.internal"?')

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False}
    assert "db-7.internal" not in response.content.decode()


@pytest.mark.django_db
def test_upstream_is_asked_at_most_once_per_interval(client, upstream, sim):
    before = sim.request_count("GET /v8/ServiceInstance")
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert sim.request_count("GET /v8/ServiceInstance") == before + 1
    cache.delete(UPSTREAM_CACHE_KEY)
    client.get("/healthz")
    assert sim.request_count("GET /v8/ServiceInstance") == before + 2


@pytest.mark.django_db
def test_old_api_versions_are_probed_without_a_token(client, upstream, sim):
    upstream(4)
    grants = sim.stats()["token_grants"]
    assert client.get("/healthz").status_code == 200
    assert sim.stats()["token_grants"] == grants
