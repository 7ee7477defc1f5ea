"""Asking for an item action (restore, save, export) in a restore session: checked, recorded, queued.

`job_create` checks the request against the catalog (restores.actions), the server's API version, the session
and the person, records a RestoreJob in state `queued` with the JOB_CREATE audit event, leaves the person's
Microsoft 365 credentials for the worker, sealed (restores.services.credentials), and queues the job's task
(restores.tasks), all in one transaction: either the job exists with its audit event and its task, or nothing.

The same Idempotency-Key (or form submission key) from the same person, with the same request, returns the
first job, as a repeated session start does; with a different request it is refused (409).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import IntegrityError, transaction

from restores.actions import ACTIONS, Action, ActionKind
from restores.models import CredentialKind, RestoreJob
from restores.services import credentials as sealed
from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, RestoreSession, Role
from sessions_app.services import browse, restore_sessions, tenants
from sessions_app.services.audit import audit_event_record
from sessions_app.services.browse import Actor
from sessions_app.upstream import client as upstream
from sessions_app.upstream import restores as upstream_restores
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.restore_types import DeviceCodeDTO, RestoreCredentials

OPERATION = "session.job"
MAX_REASON_CHARS = 2000
MAX_NODES = 1000
MAX_TICKET_CHARS = 128
MAX_TARGET_CHARS = 512
ITEM_ACTIONS_MIN_VERSION = 4

UNKNOWN_ACTION = "No such action. Choose one of: {names}."
WRONG_WORKLOAD = "“{label}” is a {action_workload} action; this session explores {workload}."
VERSION_TOO_OLD = "“{label}” needs VB365 API v{needed} or later; this server speaks v{version}."
ITEM_ACTIONS_NEED_V4 = "Item actions need VB365 API v4 or later; this server speaks v{version}."
NODES_REQUIRED = "Select at least one item, folder or container."
TOO_MANY_NODES = "Select at most {limit} entries in one action."
ONE_NODE_ONLY = "“{label}” takes exactly one entry."
KIND_NOT_ACCEPTED = "“{label}” cannot take a {kind}; it takes: {kinds}."
SEVERAL_CONTAINERS = "Select entries of one mailbox, drive, site or team per action."
TARGET_REQUIRED = "Required for “{label}”."
TARGET_UNKNOWN = "“{label}” takes no target field “{name}”."
OPTION_UNKNOWN = "“{label}” takes no option “{name}”."
REASON_TOO_LONG = f"The reason is at most {MAX_REASON_CHARS} characters."
SESSION_NOT_WORKING = "This restore session has stopped; start a new one to restore from it."
AUDITORS_MAY_NOT = "Auditors review item actions; they may not run them."
CREDENTIALS_NEEDED = ("A restore writes into Microsoft 365 and needs credentials: sign in with a device code, give a "
                      "user name and password, or ask an administrator to set this organization's application "
                      "credentials.")
CREDENTIALS_NOT_NEEDED = "Saves and exports need no Microsoft 365 credentials; send none."
NO_APP_CREDENTIALS = "This organization has no application credentials; use a device code or a user name and password."
PASSWORD_INCOMPLETE = "Give both the user name and the password."


class JobRefused(exceptions.PortalError):
    """The request breaks a rule of the catalog, the version or the form; `extra["fields"]` names the field."""

    code = "job_refused"


@dataclass(frozen=True)
class JobSpec:
    """One item action as the dialog or the API asks for it (built by F's serializer and form)."""

    action: str
    node_ids: tuple[str, ...]
    reason: str
    target: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    credentials: RestoreCredentials | None = None
    credential_kind: str = ""      # CredentialKind value; "" = from `credentials` (none: the organization's)
    on_behalf_of: Any = None       # a User, helpdesk and administrators only, with a ticket
    ticket: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True)
class _Selection:
    refs: tuple[NodeRef, ...]
    rows: list[dict[str, Any]]


# -- who, and which client --------------------------------------------------------------------------------------


@contextmanager
def client_for_user(user: Any) -> Iterator[upstream.UpstreamClient]:
    """The client that speaks for `user` without a request, chosen as pages and the API choose it for browsing
    and stopping (sessions_app.services.tenants.client_for): a tenant's own VB365 sign-in for tenant users
    (closed afterwards), the service account's shared client for everyone else. The worker uses it for the job's
    requester."""
    shared = upstream.get_client()
    client = tenants.client_for(user=user)
    try:
        yield client
    finally:
        if client is not shared:
            client.close()


def _job_session_check(*, actor: Actor, session: RestoreSession) -> None:
    """Visibility and role rules: those of browsing (the node ids come from it), auditors refused by name."""
    if selectors.user_role(actor) == Role.AUDITOR:
        restore_sessions.restore_session_for_viewer(actor=actor, upstream_id=str(session.upstream_id))
        raise exceptions.NotAllowed(AUDITORS_MAY_NOT, refusal=_refusal(session, "auditors do not run item actions"))
    browse.browse_session_for(actor=actor, upstream_id=str(session.upstream_id))
    if not session.is_working:
        raise exceptions.SessionStopped(SESSION_NOT_WORKING)


def _refusal(session: RestoreSession, why: str) -> exceptions.Refusal:
    return exceptions.Refusal(operation=OPERATION, target=str(session.upstream_id), organization=session.organization,
                              workload=session.workload, session_upstream_id=str(session.upstream_id), why=why)


# -- creating a job -----------------------------------------------------------------------------------------------


def job_create(*, actor: Actor, session: RestoreSession, spec: JobSpec, client_address: str = "") -> RestoreJob:
    """Check, record and queue one item action; return the job (state `queued`), or the first job of a repeated
    request with the same idempotency key.

    Raises NotVisible (404: the session or a node is not the actor's to see), NotAllowed (403: role rules),
    SessionStopped (409), JobRefused (400, with the field in extra["fields"]), IdempotencyKeyReused (409),
    CredentialsUnavailable (503: credentials given but RESTORE_CREDENTIALS_KEY missing). No upstream call."""
    _job_session_check(actor=actor, session=session)
    api_version = upstream.configured_dialect().version
    action = _action_check(spec.action, session=session, version=api_version)
    reason = _reason_check(spec.reason)
    on_behalf_of, ticket = _on_behalf_check(actor=actor, session=session, spec=spec)
    selection = _selection_check(action, session=session, node_ids=spec.node_ids)
    target = _target_check(action, spec.target)
    options = _options_check(action, spec.options)
    try:
        upstream_restores.check_selection(action.name, selection.refs, api_version=api_version, target=target,
                                          options=options)
    except upstream_restores.RestoreTargetInvalid as exc:
        raise _refuse("target", exc.message) from None
    except upstream_restores.RestoreRequestInvalid as exc:   # an option's value VB365 would refuse
        raise _refuse("options", exc.message) from None
    except upstream_restores.RestoreUnsupported as exc:
        raise _refuse("nodes", exc.message) from None
    credential_kind = _credentials_check(action, session=session, spec=spec)

    wanted = {"session": str(session.upstream_id), "action": action.name, "nodes": list(spec.node_ids),
              "reason": reason, "target": target, "options": options, "credential_kind": credential_kind,
              "on_behalf_of": getattr(on_behalf_of, "pk", None), "ticket": ticket}
    fingerprint = hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()
    key = spec.idempotency_key.strip()[:255]
    if key:
        existing = _job_of_key(actor=actor, key=key, fingerprint=fingerprint)
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            job = RestoreJob.objects.create(
                session=session, organization=session.organization, requested_by=cast(Any, actor),
                on_behalf_of=on_behalf_of, ticket=ticket, reason=reason, action=action.name,
                workload=session.workload, api_version=api_version,
                selection=selection.rows, target=target, options=options, credential_kind=credential_kind,
                idempotency_key=key, request_fingerprint=fingerprint)
            if spec.credentials is not None and spec.credentials.kind:
                sealed.credentials_hand_off(job=job, credentials=spec.credentials)
            _audit_create(job=job, actor=actor, client_address=client_address)
            _enqueue(job)
    except IntegrityError:
        if not key:
            raise
        existing = _job_of_key(actor=actor, key=key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    return job


def _job_of_key(*, actor: Actor, key: str, fingerprint: str) -> RestoreJob | None:
    existing = RestoreJob.objects.filter(requested_by_id=actor.pk, idempotency_key=key).first()
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise exceptions.IdempotencyKeyReused(exceptions.IDEMPOTENCY_KEY_REUSED)
    return existing


def _enqueue(job: RestoreJob) -> None:
    from restores import tasks  # the tasks call the running services, which import this module

    task = tasks.restore_job_run if ACTIONS[job.action].kind == ActionKind.RESTORE else tasks.download_job_run
    result = task.enqueue(job_id=job.pk)
    job.task_id = str(result.id)
    job.save(update_fields=["task_id"])


def _audit_create(*, job: RestoreJob, actor: Actor, client_address: str) -> None:
    """JOB_CREATE: what, where to, why, for whom; which kind of credentials, never the credentials."""
    audit_event_record(
        action=AuditAction.JOB_CREATE, actor=actor, organization=job.organization, workload=job.workload,
        session_upstream_id=str(job.session.upstream_id), reason=job.reason, ticket=job.ticket,
        on_behalf_of_username=job.on_behalf_of.get_username() if job.on_behalf_of else "",
        client_address=client_address,
        details={"job": str(job.public_id), "action": job.action, "state": job.state,
                 "selection": [{"kind": row["kind"], "name": row["name"]} for row in job.selection],
                 "selection_count": len(job.selection), "target": job.target, "options": job.options,
                 "credential_kind": job.credential_kind, "api_version": job.api_version})


# -- the checks ---------------------------------------------------------------------------------------------------


def _refuse(field_name: str, message: str) -> JobRefused:
    return JobRefused(message, extra={"fields": {field_name: [message]}})


def _action_check(name: str, *, session: RestoreSession, version: int) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise _refuse("action", UNKNOWN_ACTION.format(names=", ".join(ACTIONS)))
    if action.workload != session.workload:
        raise _refuse("action", WRONG_WORKLOAD.format(label=action.label, action_workload=action.workload,
                                                      workload=session.workload))
    if version < ITEM_ACTIONS_MIN_VERSION:
        raise _refuse("action", ITEM_ACTIONS_NEED_V4.format(version=version))
    if version < action.min_version:
        raise _refuse("action", VERSION_TOO_OLD.format(label=action.label, needed=action.min_version,
                                                       version=version))
    return action


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _refuse("reason", exceptions.REASON_REQUIRED)
    if len(reason) > MAX_REASON_CHARS:
        raise _refuse("reason", REASON_TOO_LONG)
    return reason


def _on_behalf_check(*, actor: Actor, session: RestoreSession, spec: JobSpec) -> tuple[Any, str]:
    """As for starts: helpdesk and administrators act for an eligible person, with a ticket. Whoever started the
    session for someone acts for that person by default, under the session's ticket."""
    on_behalf_of, ticket = spec.on_behalf_of, (spec.ticket or "").strip()
    if on_behalf_of is None and session.on_behalf_of_id and session.requested_by_id == actor.pk:
        on_behalf_of, ticket = session.on_behalf_of, ticket or session.ticket
    if len(ticket) > MAX_TICKET_CHARS:
        raise _refuse("ticket", f"The ticket reference is at most {MAX_TICKET_CHARS} characters.")
    if on_behalf_of is None:
        return None, ticket
    if not selectors.can_act_on_behalf(actor):
        raise exceptions.NotAllowed(exceptions.ON_BEHALF_NOT_ALLOWED,
                                    refusal=_refusal(session, "role may not act on behalf of others"))
    inherited = on_behalf_of.pk == session.on_behalf_of_id
    if not inherited and (session.organization is None or not selectors.on_behalf_allowed(
            user=actor, organization=session.organization, person=on_behalf_of)):
        raise _refuse("on_behalf_of", exceptions.ON_BEHALF_NOT_ELIGIBLE)
    if not ticket:
        raise _refuse("ticket", exceptions.ON_BEHALF_REQUIRES_TICKET)
    return on_behalf_of, ticket


def _selection_check(action: Action, *, session: RestoreSession, node_ids: tuple[str, ...]) -> _Selection:
    node_ids = tuple(node_id for node_id in node_ids if node_id)
    if not node_ids:
        raise _refuse("nodes", NODES_REQUIRED)
    if len(node_ids) > MAX_NODES:
        raise _refuse("nodes", TOO_MANY_NODES.format(limit=MAX_NODES))
    if action.single_node and len(node_ids) != 1:
        raise _refuse("nodes", ONE_NODE_ONLY.format(label=action.label))
    refs: list[NodeRef] = []
    rows: list[dict[str, Any]] = []
    for node_id in dict.fromkeys(node_ids):
        ref, container_name = browse.node_resolve(session=session, node_id=node_id)
        if ref.public_kind not in action.node_kinds:
            raise _refuse("nodes", KIND_NOT_ACCEPTED.format(label=action.label, kind=ref.public_kind,
                                                            kinds=", ".join(sorted(action.node_kinds))))
        refs.append(ref)
        rows.append({"node": node_id, "kind": ref.public_kind, "name": container_name,
                     "ref": [ref.kind, *ref.ids]})
    if len({ref.container for ref in refs}) > 1:
        raise _refuse("nodes", SEVERAL_CONTAINERS)
    return _Selection(tuple(refs), rows)


def _target_check(action: Action, target: dict[str, Any]) -> dict[str, str]:
    target = dict(target or {})
    errors: dict[str, list[str]] = {}
    for name in target:
        if name not in action.target_fields:
            errors[name] = [TARGET_UNKNOWN.format(label=action.label, name=name)]
    cleaned: dict[str, str] = {}
    for name in action.target_fields:
        value = target.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = [TARGET_REQUIRED.format(label=action.label)]
        elif len(value) > MAX_TARGET_CHARS:
            errors[name] = [f"At most {MAX_TARGET_CHARS} characters."]
        else:
            cleaned[name] = value.strip()
    if errors:
        first = next(iter(errors.values()))[0]
        raise JobRefused(first, extra={"fields": {"target": [first], **{f"target.{k}": v for k, v in errors.items()}}})
    return cleaned


def _options_check(action: Action, options: dict[str, Any]) -> dict[str, Any]:
    options = dict(options or {})
    for name in options:
        if name not in action.option_fields:
            raise _refuse("options", OPTION_UNKNOWN.format(label=action.label, name=name))
    return options


def _credentials_check(action: Action, *, session: RestoreSession, spec: JobSpec) -> str:
    """The CredentialKind the job records. Restores need credentials (given, or the organization's application
    credentials); saves and exports take none."""
    given = spec.credentials if spec.credentials is not None and spec.credentials.kind else None
    if action.kind == ActionKind.DOWNLOAD:
        if given is not None:
            raise _refuse("credentials", CREDENTIALS_NOT_NEEDED)
        return CredentialKind.NONE
    if given is not None:
        if not sealed.credentials_sealing_available():
            raise sealed.CredentialsUnavailable(sealed.KEY_MISSING)
        if given.kind == "password" and not (given.user_name and given.password):
            raise _refuse("credentials", PASSWORD_INCOMPLETE)
        return sealed.credential_kind_of(given)
    if spec.credential_kind in ("", CredentialKind.APPLICATION, CredentialKind.NONE):
        if sealed.app_credential_exists(organization=session.organization):
            return CredentialKind.APPLICATION
        if spec.credential_kind == CredentialKind.APPLICATION:
            raise _refuse("credentials", NO_APP_CREDENTIALS)
    raise _refuse("credentials", CREDENTIALS_NEEDED)


# -- device code ---------------------------------------------------------------------------------------------------


def device_code_request(*, actor: Actor, session: RestoreSession) -> DeviceCodeDTO:
    """A device code for the restore dialog: the person signs in at `verification_url` with `user_code`, then
    sends the job with RestoreCredentials(user_code=...); the worker proceeds once VB365 reports it approved.
    Same rules as job_create for who may ask; raises UpstreamError when VB365 fails."""
    _job_session_check(actor=actor, session=session)
    with client_for_user(actor) as client:
        return upstream_restores.SessionRestorer(client, str(session.upstream_id)).device_code()


