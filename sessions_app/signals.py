"""Sign-in and sign-out go to the audit trail. Django's auth signals are the one hook every path passes."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from sessions_app.http import client_address
from sessions_app.models import AuditAction, AuditOutcome
from sessions_app.services import accounts, tenants
from sessions_app.services.audit import audit_event_record


def _address(request: HttpRequest | None) -> str:
    return client_address(request) if request is not None else ""


@receiver(user_logged_in)
def _record_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    accounts.sign_in_success_note(username=user.get_username())
    audit_event_record(action=AuditAction.SIGN_IN, actor=user, client_address=_address(request))


@receiver(user_logged_out)
def _record_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        tenants.tenant_sign_out(user=user)
        audit_event_record(action=AuditAction.SIGN_OUT, actor=user, client_address=_address(request))


@receiver(user_login_failed)
def _record_sign_in_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                            **kwargs: Any) -> None:
    # `credentials` has the password already masked by Django; keep only the username.
    username = str(credentials.get("username", ""))[:150]
    audit_event_record(action=AuditAction.SIGN_IN_FAILED, outcome=AuditOutcome.FAILURE,
                       actor_username=username, client_address=_address(request))
    accounts.sign_in_failure_note(username=username, address=_address(request))
