"""Microsoft 365 credentials for restores, sealed with RESTORE_CREDENTIALS_KEY and never stored in clear.

Two uses, one cipher (Fernet, with a key derived from RESTORE_CREDENTIALS_KEY; earlier keys in
RESTORE_CREDENTIALS_OLD_KEYS still open what they sealed):

- The hand-off. The credentials an operator gives with a restore job (a password, or an approved device code)
  reach the worker as a CredentialHandoff row, sealed. The worker deletes the row as it reads it
  (`credentials_take`); a row no worker took is destroyed after RESTORE_CREDENTIALS_HANDOFF_SECONDS
  (`credential_handoffs_purge`, run by the periodic job check) and the job then fails, saying so. A database row
  rather than a cache entry: the cache of a single-machine deployment (and of the demo) lives in each process,
  while the portal and its workers always share the database. Never in the job, the task's arguments, the audit
  trail or a log.
- An organization's application credentials (OrganizationAppCredential), set once by an administrator and
  used for restores whose operator gives none.

A copy of the database alone therefore opens nothing: the key stays in the environment.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from restores.models import CredentialHandoff, CredentialKind, OrganizationAppCredential, RestoreJob
from sessions_app.exceptions import PortalError
from sessions_app.models import AuditAction, Organization
from sessions_app.services.audit import audit_event_record
from sessions_app.upstream.restore_types import RestoreCredentials

logger = logging.getLogger(__name__)

SEAL_CONTEXT = "restores.credentials"
CREDENTIAL_FIELDS = ("user_name", "password", "user_code", "application_id", "certificate_b64",
                     "certificate_password", "impersonation_account")
KEY_MISSING = ("Restore Desk cannot take Microsoft 365 credentials: RESTORE_CREDENTIALS_KEY is not set. "
               "Ask an administrator to set it.")
UNREADABLE = ("The sealed credentials cannot be opened with RESTORE_CREDENTIALS_KEY (the key changed and the old "
              "one is not in RESTORE_CREDENTIALS_OLD_KEYS).")
# D's RestoreCredentials.kind -> what the job records.
KIND_OF = {"password": CredentialKind.PASSWORD, "device_code": CredentialKind.DEVICE_CODE,
           "certificate": CredentialKind.APPLICATION, "": CredentialKind.NONE}


class CredentialsUnavailable(PortalError):
    """Credentials cannot be sealed or opened here: the key is missing or is not the one that sealed them."""

    http_status = 503
    code = "credentials_unavailable"


# -- the cipher ---------------------------------------------------------------------------------------------------


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{key}|{SEAL_CONTEXT}".encode()).digest()))


def credentials_key_id(key: str | None = None) -> str:
    """A short, non-secret name of the key (which key sealed an application credential)."""
    key = settings.RESTORE_CREDENTIALS_KEY if key is None else key
    return hashlib.sha256(f"{key}|{SEAL_CONTEXT}|id".encode()).hexdigest()[:12]


def credentials_sealing_available() -> bool:
    return bool(settings.RESTORE_CREDENTIALS_KEY)


def _cipher() -> MultiFernet:
    if not settings.RESTORE_CREDENTIALS_KEY:
        raise CredentialsUnavailable(KEY_MISSING)
    keys = [settings.RESTORE_CREDENTIALS_KEY, *[key for key in settings.RESTORE_CREDENTIALS_OLD_KEYS if key]]
    return MultiFernet([_fernet(key) for key in keys])


def _seal(data: dict[str, str]) -> bytes:
    return _cipher().encrypt(json.dumps(data, sort_keys=True).encode())


def _unseal(token: bytes | memoryview) -> dict[str, str]:
    try:
        data = json.loads(_cipher().decrypt(bytes(token)))
    except (InvalidToken, ValueError):
        raise CredentialsUnavailable(UNREADABLE) from None
    if not isinstance(data, dict):
        raise CredentialsUnavailable(UNREADABLE)
    return {str(name): str(value) for name, value in data.items()}


def _fields_of(credentials: RestoreCredentials) -> dict[str, str]:
    return {name: getattr(credentials, name) for name in CREDENTIAL_FIELDS if getattr(credentials, name)}


def credential_kind_of(credentials: RestoreCredentials | None) -> str:
    """The CredentialKind a job records for these credentials (never the credentials themselves)."""
    return KIND_OF.get(credentials.kind if credentials is not None else "", CredentialKind.NONE)


# -- the hand-off to the worker -------------------------------------------------------------------------------


def credentials_hand_off(*, job: RestoreJob, credentials: RestoreCredentials, now: datetime | None = None) -> None:
    """Leave `credentials` for the worker that will run `job`, sealed. Call inside the job's creating transaction."""
    expires_at = (now or timezone.now()) + timedelta(seconds=settings.RESTORE_CREDENTIALS_HANDOFF_SECONDS)
    CredentialHandoff.objects.create(job=job, sealed=_seal(_fields_of(credentials)), expires_at=expires_at)


def credentials_take(*, job: RestoreJob, now: datetime | None = None) -> RestoreCredentials | None:
    """The credentials left for `job`, removed as they are read; None when there are none (never given, already
    taken, or expired). The row is gone once this returns, whether or not they could be opened."""
    now = now or timezone.now()
    with transaction.atomic():
        handoff = CredentialHandoff.objects.select_for_update().filter(job=job).first()
        if handoff is None:
            return None
        CredentialHandoff.objects.filter(pk=handoff.pk).delete()
    if handoff.expires_at <= now:
        return None
    return RestoreCredentials(**_unseal(handoff.sealed))


def credential_handoff_discard(*, job: RestoreJob) -> None:
    """A finished job's credentials, if a worker never took them, are destroyed."""
    CredentialHandoff.objects.filter(job=job).delete()


def credential_handoffs_purge(*, now: datetime | None = None) -> int:
    """Destroy the hand-offs no worker took in time; return how many."""
    deleted, _ = CredentialHandoff.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return int(deleted)


# -- an organization's application credentials ---------------------------------------------------------------


def app_credential_check(*, application_id: str, certificate_b64: str) -> tuple[uuid.UUID, str]:
    """The application id and the certificate (whitespace removed) if they can be sealed: PortalError for an id
    that is not a UUID or a certificate that is not base64, CredentialsUnavailable without
    RESTORE_CREDENTIALS_KEY. Forms call it to show the refusal on the field instead of after saving."""
    try:
        application_uuid = uuid.UUID(str(application_id).strip())
    except ValueError:
        raise PortalError("The application id is a UUID (the Azure AD application's client id).",
                          extra={"fields": {"application_id": ["Not a UUID."]}}) from None
    certificate_b64 = "".join(certificate_b64.split())
    try:
        if not certificate_b64 or not base64.b64decode(certificate_b64, validate=True):
            raise ValueError("empty")
    except ValueError:
        raise PortalError("Give the application's certificate (a .pfx file, base64-encoded).",
                          extra={"fields": {"certificate": ["A base64-encoded .pfx certificate."]}}) from None
    if not credentials_sealing_available():
        raise CredentialsUnavailable(KEY_MISSING)
    return application_uuid, certificate_b64


def app_credential_set(*, actor: AbstractBaseUser | AnonymousUser | None, organization: Organization,
                       application_id: str, certificate_b64: str, certificate_password: str = "",
                       impersonation_account: str = "", client_address: str = "") -> OrganizationAppCredential:
    """Set (or replace) the organization's application credentials, sealed; audited (APP_CREDENTIAL_CHANGE)
    without the secret. Raises as app_credential_check."""
    application_uuid, certificate_b64 = app_credential_check(application_id=application_id,
                                                             certificate_b64=certificate_b64)
    sealed = _seal({"certificate_b64": certificate_b64, "certificate_password": certificate_password})
    updated_by: Any = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        credential, created = OrganizationAppCredential.objects.update_or_create(
            organization=organization,
            defaults={"application_id": application_uuid, "impersonation_account": impersonation_account.strip(),
                      "sealed_secret": sealed, "key_id": credentials_key_id(),
                      "updated_by": updated_by})
        _audit_change(actor=actor, organization=organization, change="set" if created else "replaced",
                      application_id=str(application_uuid), impersonation_account=credential.impersonation_account,
                      client_address=client_address)
    return credential


def app_credential_remove(*, actor: AbstractBaseUser | AnonymousUser | None, organization: Organization,
                          client_address: str = "") -> bool:
    """Remove the organization's application credentials; False when it had none. Audited."""
    with transaction.atomic():
        credential = OrganizationAppCredential.objects.filter(organization=organization).first()
        if credential is None:
            return False
        credential.delete()
        _audit_change(actor=actor, organization=organization, change="removed",
                      application_id=str(credential.application_id), impersonation_account="",
                      client_address=client_address)
    return True


def app_credentials_for(*, organization: Organization | None) -> RestoreCredentials | None:
    """The organization's application credentials, opened; None when it has none. Raises CredentialsUnavailable
    when they cannot be opened with the configured keys."""
    if organization is None:
        return None
    credential = OrganizationAppCredential.objects.filter(organization=organization).first()
    if credential is None:
        return None
    secret = _unseal(credential.sealed_secret)
    return RestoreCredentials(application_id=str(credential.application_id),
                              certificate_b64=secret.get("certificate_b64", ""),
                              certificate_password=secret.get("certificate_password", ""),
                              impersonation_account=credential.impersonation_account)


def app_credential_exists(*, organization: Organization | None) -> bool:
    return organization is not None and OrganizationAppCredential.objects.filter(organization=organization).exists()


def _audit_change(*, actor: Any, organization: Organization, change: str, application_id: str,
                  impersonation_account: str, client_address: str) -> None:
    audit_event_record(action=AuditAction.APP_CREDENTIAL_CHANGE, actor=actor, organization=organization,
                       client_address=client_address,
                       details={"change": change, "application_id": application_id,
                                "impersonation_account": impersonation_account})
