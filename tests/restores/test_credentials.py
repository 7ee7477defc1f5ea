"""Sealing Microsoft 365 credentials: the hand-off to the worker, an organization's application credentials
(service, Django admin, management command), and keys that change."""
from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from restores.models import CredentialHandoff, OrganizationAppCredential, RestoreJob
from restores.services import credentials
from sessions_app.exceptions import PortalError
from sessions_app.models import AuditAction, AuditEvent, Organization
from sessions_app.upstream.restore_types import RestoreCredentials

CERTIFICATE = base64.b64encode(b"PFX-CERTIFICATE-BYTES").decode()


@pytest.fixture
def org(organizations: list[Organization]) -> Organization:
    return organizations[0]


def test_application_credentials_are_sealed_and_opened(org: Organization, admin_user: Any) -> None:
    application_id = str(uuid.uuid4())
    credentials.app_credential_set(actor=admin_user, organization=org, application_id=application_id,
                                   certificate_b64=CERTIFICATE, certificate_password="pfx-pass-123",
                                   impersonation_account="svc@contoso.com")
    stored = OrganizationAppCredential.objects.get(organization=org)
    assert b"pfx-pass-123" not in bytes(stored.sealed_secret) and CERTIFICATE.encode() not in bytes(
        stored.sealed_secret)
    opened = credentials.app_credentials_for(organization=org)
    assert opened == RestoreCredentials(application_id=application_id, certificate_b64=CERTIFICATE,
                                        certificate_password="pfx-pass-123", impersonation_account="svc@contoso.com")
    event = AuditEvent.objects.get(action=AuditAction.APP_CREDENTIAL_CHANGE)
    assert event.details == {"change": "set", "application_id": application_id,
                             "impersonation_account": "svc@contoso.com"}
    assert "pfx-pass-123" not in repr(event.details) and CERTIFICATE not in repr(event.details)


def test_a_changed_key_cannot_open_them_until_listed_as_old(org: Organization, settings: Any) -> None:
    credentials.app_credential_set(actor=None, organization=org, application_id=str(uuid.uuid4()),
                                   certificate_b64=CERTIFICATE)
    first_key = settings.RESTORE_CREDENTIALS_KEY
    settings.RESTORE_CREDENTIALS_KEY = "a-brand-new-restore-credentials-key-9876543210"
    with pytest.raises(credentials.CredentialsUnavailable):
        credentials.app_credentials_for(organization=org)
    settings.RESTORE_CREDENTIALS_OLD_KEYS = [first_key]
    assert credentials.app_credentials_for(organization=org).certificate_b64 == CERTIFICATE  # type: ignore[union-attr]


@pytest.mark.parametrize(("application_id", "certificate", "field"), [
    ("not-a-uuid", CERTIFICATE, "application_id"), (str(uuid.uuid4()), "", "certificate"),
    (str(uuid.uuid4()), "***not base64***", "certificate")])
def test_bad_application_credentials_are_refused(org: Organization, application_id: str, certificate: str,
                                                 field: str) -> None:
    with pytest.raises(PortalError) as excinfo:
        credentials.app_credential_set(actor=None, organization=org, application_id=application_id,
                                       certificate_b64=certificate)
    assert field in excinfo.value.extra["fields"]
    assert not OrganizationAppCredential.objects.exists()


def test_removing_is_audited(org: Organization) -> None:
    assert credentials.app_credential_remove(actor=None, organization=org) is False
    credentials.app_credential_set(actor=None, organization=org, application_id=str(uuid.uuid4()),
                                   certificate_b64=CERTIFICATE)
    assert credentials.app_credential_remove(actor=None, organization=org) is True
    assert credentials.app_credentials_for(organization=org) is None
    assert [event.details["change"] for event in AuditEvent.objects.filter(
        action=AuditAction.APP_CREDENTIAL_CHANGE).order_by("sequence")] == ["set", "removed"]


def test_expired_handoffs_are_destroyed_unread(working_session: Any, job_operator: Any) -> None:
    session = working_session(8)
    job = RestoreJob.objects.create(session=session, organization=session.organization, requested_by=job_operator,
                                    reason="r", action="exchange.restore_original", workload="exchange",
                                    api_version=8)
    secret = RestoreCredentials(user_name="u@contoso.com", password="hunter2-hunter2")
    credentials.credentials_hand_off(job=job, credentials=secret, now=timezone.now() - timedelta(hours=1))
    assert credentials.credential_handoffs_purge() == 1
    assert credentials.credentials_take(job=job) is None
    credentials.credentials_hand_off(job=job, credentials=secret, now=timezone.now() - timedelta(hours=1))
    assert credentials.credentials_take(job=job) is None, "expired: not handed out even before the purge"
    assert not CredentialHandoff.objects.exists()


def test_the_admin_takes_the_secret_and_never_shows_it(org: Organization, admin_user: Any, client: Any) -> None:
    client.force_login(admin_user)
    application_id = str(uuid.uuid4())
    response = client.post("/admin/restores/organizationappcredential/add/", {
        "organization": org.pk, "application_id": application_id, "impersonation_account": "",
        "certificate_b64": CERTIFICATE, "certificate_password": "admin-typed-pass"})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = OrganizationAppCredential.objects.get(organization=org)
    assert str(stored.application_id) == application_id
    assert credentials.app_credentials_for(organization=org).certificate_password == "admin-typed-pass"  # type: ignore[union-attr]
    page = client.get(f"/admin/restores/organizationappcredential/{stored.pk}/change/").content.decode()
    assert "admin-typed-pass" not in page and CERTIFICATE not in page
    assert AuditEvent.objects.filter(action=AuditAction.APP_CREDENTIAL_CHANGE, actor_username="root").exists()


@pytest.mark.parametrize("key", ["", "a-restore-credentials-key-for-tests-only-0123456789"])
def test_the_admin_refuses_what_cannot_be_sealed_on_the_form(org: Organization, admin_user: Any, client: Any,
                                                              settings: Any, key: str) -> None:
    settings.RESTORE_CREDENTIALS_KEY = key
    client.force_login(admin_user)
    response = client.post("/admin/restores/organizationappcredential/add/", {
        "organization": org.pk, "application_id": str(uuid.uuid4()), "impersonation_account": "",
        "certificate_b64": CERTIFICATE if not key else "not base64 at all!", "certificate_password": "pw-typed"})
    assert response.status_code == 200
    page = response.content.decode()
    assert ("RESTORE_CREDENTIALS_KEY" in page) if not key else ("base64" in page)
    assert "pw-typed" not in page
    assert not OrganizationAppCredential.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.APP_CREDENTIAL_CHANGE).exists()


def test_the_admin_lists_jobs_read_only(admin_user: Any, client: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/admin/restores/restorejob/").status_code == 200
    assert client.get("/admin/restores/restorejob/add/").status_code == 403


def test_the_command_sets_and_removes(org: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: Any) -> None:
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(b"PFX-CERTIFICATE-BYTES")
    monkeypatch.setenv("RESTORE_CERTIFICATE_PASSWORD", "env-pass")
    call_command("app_credential", str(org.upstream_id), "--application-id", str(uuid.uuid4()),
                 "--certificate", str(pfx))
    opened = credentials.app_credentials_for(organization=org)
    assert opened is not None and opened.certificate_b64 == CERTIFICATE and opened.certificate_password == "env-pass"
    call_command("app_credential", org.name, "--remove")
    assert "removed" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("app_credential", "no such organization", "--remove")


@pytest.mark.parametrize(("key", "expected"), [
    ("", "restoredesk.W101"), ("test-only-not-secret", "restoredesk.E101"), ("short", "restoredesk.E102"),
    ("a-long-enough-random-restore-credentials-key-0123456789", None)])
def test_the_deploy_check_names_a_missing_or_weak_key(key: str, expected: str | None, settings: Any) -> None:
    from restores.checks import restore_credentials_key_check

    settings.RESTORE_CREDENTIALS_KEY = key
    assert [message.id for message in restore_credentials_key_check()] == ([expected] if expected else [])
