"""Shared fixtures: the simulator as upstream, the cast of users, and a guard against real network use."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache

from sessions_app.models import Organization, Role, Workload
from sessions_app.services import accounts
from sessions_app.services import organizations as organization_services
from tests.database_roles import django_db_setup  # noqa: F401  (the runtime database role; see that module)
from vb365_sim.server import serve_in_thread

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to the simulator on loopback and nothing else."""
    real_send = requests.adapters.HTTPAdapter.send

    def guarded_send(self: Any, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        host = urlsplit(request.url or "").hostname or ""
        if host not in LOOPBACK:
            raise RuntimeError(f"test tried to reach the network: {host}")
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", guarded_send)


@pytest.fixture(autouse=True)
def _fresh_audit_checkpoints() -> Iterator[None]:
    """Checkpoints written in a test (on commit) describe that test's chain only."""
    path = Path(django_settings.AUDIT_CHECKPOINT_PATH)
    path.unlink(missing_ok=True)
    yield
    path.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    """One simulator server for the whole run (seeded, 200 sessions of history); `sim` resets it per test."""
    with serve_in_thread(seed=7, sessions=200) as url:
        yield url


@pytest.fixture
def sim(sim_url: str) -> Iterator[SimControl]:
    """The shared simulator as it started: no sessions, tokens, faults or clock moves left by earlier tests."""
    control = SimControl(sim_url)
    control.reset()
    yield control
    control.clear_faults()


class SimControl:
    """The simulator's control plane (/_sim/), as tests use it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def info(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sim/info", timeout=5).json()

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sim/stats", timeout=5).json()

    def fault(self, **rule: Any) -> None:
        requests.post(f"{self.url}/_sim/faults", json=rule, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sim/faults", timeout=5).raise_for_status()

    def expire_tokens(self) -> None:
        requests.post(f"{self.url}/_sim/expire-tokens", timeout=5).raise_for_status()

    def reset(self) -> None:
        """Back to the state at start (sessions, tokens, faults, counters, clock); same organizations."""
        requests.post(f"{self.url}/_sim/reset", timeout=5).raise_for_status()

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward (token expiry, live-session events) instead of sleeping."""
        requests.post(f"{self.url}/_sim/clock", json={"advance_seconds": seconds}, timeout=5).raise_for_status()

    def organization(self, *, backed_up: bool = True, tenant: bool | None = None) -> dict[str, Any]:
        for org in self.info()["organizations"]:
            if org["is_backed_up"] == backed_up and (tenant is None or (org["tenant"] is not None) == tenant):
                return org
        raise LookupError("the simulator has no such organization")

    def request_count(self, key: str) -> int:
        return int(self.stats()["requests"].get(key, 0))


@pytest.fixture
def fresh_sim(settings: Any, upstream: Callable[[int], SimControl]) -> Iterator[SimControl]:
    """A simulator of its own (same seed, so the same organizations) with no sessions from other tests:
    for tests that must not see what earlier tests started."""
    with serve_in_thread(seed=7, sessions=20) as url:
        settings.VB365_URL = url
        yield SimControl(url)


@pytest.fixture
def upstream(settings: Any, sim: SimControl) -> Callable[[int], SimControl]:
    """Point the portal at the simulator in the given API version (default 8)."""

    def configure(version: int = 8) -> SimControl:
        settings.VB365_URL = sim.url
        settings.VB365_API_VERSION = version
        settings.VB365_USERNAME = sim.info()["admin"]["username"]
        settings.VB365_PASSWORD = sim.info()["admin"]["password"]
        settings.VB365_MAX_RETRIES = 0
        settings.VB365_READ_TIMEOUT = 3.0
        return sim

    configure(8)
    return configure


@pytest.fixture
def organizations(db: Any, upstream: Callable[[int], SimControl]) -> list[Organization]:
    return organization_services.organizations_refresh(force=True)


@pytest.fixture
def backed_up_org(organizations: list[Organization], sim: SimControl) -> Organization:
    return Organization.objects.get(upstream_id=sim.organization(backed_up=True)["id"])


@pytest.fixture
def other_org(organizations: list[Organization], backed_up_org: Organization) -> Organization:
    return Organization.objects.filter(is_backed_up=True).exclude(pk=backed_up_org.pk).first()  # type: ignore[return-value]


@pytest.fixture
def never_backed_up_org(organizations: list[Organization], sim: SimControl) -> Organization:
    return Organization.objects.get(upstream_id=sim.organization(backed_up=False)["id"])


def make_user(name: str, role: Role, *, grants: list[tuple[Organization, str]] = ()) -> Any:  # type: ignore[assignment]
    user = accounts.user_create(username=name, password=PASSWORD, role=role)
    for organization, workload in grants:
        accounts.grant_add(user=user, organization=organization, workload=workload)
    return user


@pytest.fixture
def operator(backed_up_org: Organization) -> Any:
    """olivia: may restore everything of backed_up_org, nothing else."""
    return make_user("olivia", Role.OPERATOR, grants=[(backed_up_org, "")])


@pytest.fixture
def exchange_operator(other_org: Organization) -> Any:
    """oscar: may restore Exchange only, in other_org."""
    return make_user("oscar", Role.OPERATOR, grants=[(other_org, Workload.EXCHANGE)])


@pytest.fixture
def helpdesk(organizations: list[Organization]) -> Any:
    return make_user("harry", Role.HELPDESK)


@pytest.fixture
def auditor(organizations: list[Organization]) -> Any:
    return make_user("alice", Role.AUDITOR)


@pytest.fixture
def admin_user(organizations: list[Organization]) -> Any:
    return make_user("root", Role.ADMIN)


@pytest.fixture
def nobody(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("nina", password=PASSWORD)


@pytest.fixture
def operator_client(client: Any, operator: Any) -> Any:
    client.force_login(operator)
    return client


@pytest.fixture
def tenant_organization(organizations: list[Organization], sim: SimControl) -> Organization:
    """The organization whose own credentials VB365 accepts for tenant sign-in."""
    return Organization.objects.get(upstream_id=sim.organization(backed_up=True, tenant=True)["id"])


@pytest.fixture
def tenant_credentials(sim: SimControl) -> dict[str, str]:
    return sim.organization(backed_up=True, tenant=True)["tenant"]


@pytest.fixture
def provider_session(helpdesk: Any, operator: Any, tenant_organization: Organization) -> Any:
    """A working session the provider's helpdesk started in the tenant organization, on behalf of olivia,
    with every provider-internal field set."""
    import uuid

    from sessions_app.services import session_start
    from sessions_app.specs import StartSpec

    return session_start.restore_session_start(
        actor=helpdesk, key=str(uuid.uuid4()), client_address="10.20.30.40", spec=StartSpec(
            organization=tenant_organization, workload=Workload.EXCHANGE, reason="PROVIDER-REASON legal hold check",
            scope="PROVIDER-SCOPE ceo mailbox", ticket="INC-PROVIDER-77", on_behalf_of=operator))
