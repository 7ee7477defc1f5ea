"""The organizations page: the organizations a person may work with, refreshed from VB365, cached when it is down."""
from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Organization
from tests.views.conftest import page_text

URL = reverse("sessions_app:organization-list")
ORGANIZATIONS = "GET /v8/Organizations"


def names(response):
    return [o.name for o in response.context["organizations"]]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={URL}"


def test_operator_sees_only_granted_organizations(operator_client, backed_up_org, other_org):
    response = operator_client.get(URL)
    assert response.status_code == 200
    assert "sessions_app/organization_list.html" in [t.name for t in response.templates]
    assert names(response) == [backed_up_org.name]
    text = page_text(response)
    assert backed_up_org.name in text and other_org.name not in text
    assert "Start a session" in text


def test_helpdesk_sees_every_organization_and_never_backed_up_ones_are_marked(signed_in, helpdesk,
                                                                              never_backed_up_org):
    response = signed_in(helpdesk).get(URL)
    assert sorted(names(response)) == sorted(Organization.objects.values_list("name", flat=True))
    assert "Never backed up" in page_text(response)


def test_auditor_sees_every_organization_but_no_start_links(signed_in, auditor):
    response = signed_in(auditor).get(URL)
    assert len(names(response)) == Organization.objects.count()
    assert "Start a session" not in page_text(response)


def test_person_without_a_role_is_told_to_ask_for_a_grant(signed_in, nobody, upstream):
    response = signed_in(nobody).get(URL)
    assert response.status_code == 200
    assert "There are no organizations you may work with. Ask an administrator for a grant." in page_text(response)


def test_fresh_list_is_not_read_again_and_refresh_forces_it(operator_client, sim):
    before = sim.request_count(ORGANIZATIONS)
    operator_client.get(URL)
    assert sim.request_count(ORGANIZATIONS) == before
    operator_client.get(URL, {"refresh": "1"})
    assert sim.request_count(ORGANIZATIONS) == before + 1


def test_upstream_down_shows_the_cached_list_with_a_warning(operator_client, backed_up_org, sim):
    Organization.objects.update(fetched_at=timezone.now() - timedelta(hours=1))
    sim.fault(down=True)
    response = operator_client.get(URL)
    assert response.status_code == 200
    text = page_text(response)
    assert "Showing the last known list." in text
    assert backed_up_org.name in text
