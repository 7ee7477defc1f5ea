"""One organization: its backups and restore points, for those who may see it."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.views.conftest import page_text, table_rows


def url(organization_id):
    return reverse("sessions_app:organization-detail", args=[organization_id])


def test_anonymous_is_sent_to_sign_in(client, backed_up_org):
    response = client.get(url(backed_up_org.upstream_id))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_operator_sees_own_organization_with_restore_points(operator_client, backed_up_org):
    response = operator_client.get(url(backed_up_org.upstream_id))
    assert response.status_code == 200
    assert "sessions_app/organization_detail.html" in [t.name for t in response.templates]
    text = page_text(response)
    assert backed_up_org.name in text and str(backed_up_org.upstream_id) in text
    assert "Backup time Workloads Long-term copy" in text
    assert len(response.context["restore_points"]) > 0
    assert "Start a session" in text


@pytest.mark.parametrize("which", ["foreign", "guessed"])
def test_operator_gets_404_for_foreign_or_guessed_organization(operator_client, other_org, which):
    target = other_org.upstream_id if which == "foreign" else uuid.uuid4()
    assert operator_client.get(url(target)).status_code == 404


def test_person_without_a_role_gets_404(signed_in, nobody, backed_up_org):
    assert signed_in(nobody).get(url(backed_up_org.upstream_id)).status_code == 404


def test_never_backed_up_organization_says_so_and_offers_no_start(signed_in, helpdesk, never_backed_up_org, sim):
    response = signed_in(helpdesk).get(url(never_backed_up_org.upstream_id))
    text = page_text(response)
    assert "Backed up Never" in text
    assert "No restore points." in text
    assert "Start a session" in text.split("Sign out")[0]  # the menu only
    assert "Start a session" not in text.split("Sign out")[1]


def test_auditor_sees_it_without_a_start_button(signed_in, auditor, backed_up_org):
    text = page_text(signed_in(auditor).get(url(backed_up_org.upstream_id)))
    assert backed_up_org.name in text and "Start a session" not in text


def test_restore_points_failure_is_shown_on_the_page(operator_client, backed_up_org, sim):
    sim.fault(path="(?i)restorepoints", status=503)
    response = operator_client.get(url(backed_up_org.upstream_id))
    assert response.status_code == 200
    assert "VB365 could not complete this (HTTP 503)" in page_text(response)


def test_old_api_version_explains_that_it_has_no_restore_points(operator_client, backed_up_org, upstream):
    upstream(5)
    response = operator_client.get(url(backed_up_org.upstream_id))
    assert "(v5) does not list restore points" in page_text(response)


def test_restore_points_come_thirty_a_page_newest_first(operator_client, backed_up_org):
    first = operator_client.get(url(backed_up_org.upstream_id))
    second = operator_client.get(url(backed_up_org.upstream_id), {"page": "2"})
    total = first.context["restore_points"].paginator.count
    first_rows, second_rows = table_rows(first, "restore-points"), table_rows(second, "restore-points")
    assert total > 60 and len(first_rows) == len(second_rows) == 30
    assert first_rows[29][0] > second_rows[0][0]  # "YYYY-MM-DD hh:mm:ss": newer sorts later
    assert f"Newest first: 1–30 of {total}." in page_text(first)
    assert f"Page 2 of {-(-total // 30)}" in page_text(second)
    assert 'href="?page=3"' in second.content.decode()
