"""The pages of item actions: the action form (the explorer's dialog posts here), the job page with its live
part, the download, and the jobs lists. Views translate HTTP; the job services decide and write.

Refusals are audited like the session pages' (sessions_app.views.refusals_recorded); upstream faults end as a
message on the page, never a 500, with the reason and everything typed kept.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from restores import forms
from restores import selectors as job_selectors
from restores.actions import ACTIONS
from restores.api import JobOperation, file_response
from restores.forms import job_form_for
from restores.models import RestoreJob
from restores.serializers import counts_of, download_ready, item_outcomes
from restores.services import downloads, jobs
from sessions_app import exceptions, selectors
from sessions_app.http import AuthenticatedHttpRequest, client_address
from sessions_app.models import RestoreSession
from sessions_app.upstream.errors import UpstreamError
from sessions_app.views import CappedPaginator, _paginate, _session_or_404, refusals_recorded, upstream_error_text

logger = logging.getLogger(__name__)

JOBS_PAGE_SIZE = 25
ITEMS_SHOWN = 200  # per-item outcomes on the page; the API has them all


@login_required
@refusals_recorded(JobOperation.CREATE)
def job_new(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    """GET: the action form as a page (`?node=…` preselects entries). POST: queue the job and go to its page;
    "Get a device code" shows the form again with a code to approve."""
    if not selectors.can_start(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    session = _session_or_404(request, upstream_id)
    device_code = None
    if request.method != "POST":
        form = job_form_for(session, initial={"nodes": request.GET.getlist("node"),
                                              "action": request.GET.get("action", "")})
    else:
        form = job_form_for(session, request.POST)
        if "get_device_code" in request.POST:
            device_code = _device_code(request, session)
        elif form.is_valid():
            job = _create(request, session, form)
            if job is not None:
                return redirect("restores:job-detail", public_id=job.public_id)
    return render(request, "restores/job_new.html", {"session": session, "form": form, "device_code": device_code},
                  status=400 if request.method == "POST" and form.errors and device_code is None else 200)


def _device_code(request: AuthenticatedHttpRequest, session: RestoreSession) -> Any:
    try:
        return jobs.device_code_request(actor=request.user, session=session)
    except (exceptions.NotVisible, exceptions.NotAllowed):
        raise
    except exceptions.PortalError as exc:
        messages.error(request, exc.message)
    except UpstreamError as exc:
        logger.warning("Device code for %s failed: %r", session.upstream_id, exc)
        messages.error(request, upstream_error_text(exc))
    return None


def _create(request: AuthenticatedHttpRequest, session: RestoreSession, form: forms.JobForm) -> RestoreJob | None:
    """The queued job, or None with the refusal on the form (field errors on their fields)."""
    try:
        return jobs.job_create(actor=request.user, session=session, spec=form.spec(),
                               client_address=client_address(request))
    except (exceptions.NotVisible, exceptions.NotAllowed):
        raise
    except exceptions.PortalError as exc:
        fields = exc.extra.get("fields", {}) if isinstance(exc.extra, dict) else {}
        if any(str(field).startswith("target.") for field in fields):
            fields = {field: errors for field, errors in fields.items() if field != "target"}  # the same, per field
        for field, errors in fields.items():
            name = _form_field(form, str(field))
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(name, str(error))
        if not fields:
            form.add_error(None, exc.message)
    except UpstreamError as exc:
        logger.warning("Job in %s refused by VB365: %r", session.upstream_id, exc)
        form.add_error(None, f"{upstream_error_text(exc)} Your reason was kept; you can try again.")
    return None


SERVICE_FIELDS = {"credentials": "credential_kind"}


def _form_field(form: forms.JobForm, field: str) -> str | None:
    """The form field a service's field error names ("target.mailbox" -> target_mailbox), else None."""
    name = SERVICE_FIELDS.get(field, field.replace(".", "_"))
    return name if name in form.fields else None


def _job_or_404(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> RestoreJob:
    return job_selectors.job_for(request.user, public_id)


def _job_context(job: RestoreJob) -> dict[str, Any]:
    items = item_outcomes(job)
    problems = [item for item in items if item["status"] != "success"]
    counts = counts_of(job)
    done = counts["succeeded"] + counts["failed"] + counts["skipped"]
    # v6/v7 Exchange statistics give no total: once the job has ended, what was done is the whole.
    total = counts["total"] if counts["total"] is not None else (done if job.finished and done else None)
    return {
        "job": job, "counts": counts, "items_done": done, "items_total": total, "problems": problems[:ITEMS_SHOWN],
        "problems_more": max(len(problems) - ITEMS_SHOWN, 0), "download_ready": download_ready(job),
        "items_percent": _percent(done, total),
        "bytes_percent": _percent(counts["bytes"], counts["bytes_total"]),
        "action": ACTIONS.get(job.action),
    }


def _percent(done: int, total: int | None) -> int | None:
    if not total:
        return None
    return min(100, done * 100 // total)


@login_required
@refusals_recorded(JobOperation.VIEW)
def job_detail(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    job = _job_or_404(request, public_id)
    return render(request, "restores/job_detail.html", _job_context(job))


@login_required
@refusals_recorded(JobOperation.VIEW)
def job_status(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The live part of the job page, polled by portal.js while the job is queued or running."""
    job = _job_or_404(request, public_id)
    response = render(request, "restores/_job_live.html", _job_context(job))
    response["X-Job-State"] = job.state
    return response


@login_required
@require_GET
@refusals_recorded(JobOperation.DOWNLOAD)
def job_download(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponse | FileResponse:
    """The file, streamed; while it is not ready (or once removed) the job page with why."""
    job = _job_or_404(request, public_id)
    try:
        opened = downloads.download_open(actor=request.user, job=job, client_address=client_address(request))
    except (exceptions.NotVisible, exceptions.NotAllowed):
        raise
    except exceptions.PortalError as exc:
        messages.error(request, exc.message)
        return redirect("restores:job-detail", public_id=job.public_id)
    return file_response(opened)


@login_required
def job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's own jobs (asked for by them, or done for them)."""
    mine = job_selectors.job_list(user=request.user, mine=True)
    return render(request, "restores/job_list.html", {
        "page": _paginate(request, mine, JOBS_PAGE_SIZE, paginator=CappedPaginator), "all_jobs": False,
        "query": "", "form": None})


@login_required
@refusals_recorded(JobOperation.LIST)
def job_list_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Everybody's jobs, with filters: helpdesk, auditors and administrators."""
    if not (selectors.can_review_all(request.user) or selectors.can_view_audit(request.user)):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    form = forms.JobFilterForm(request.GET or None, organizations=selectors.organization_list(user=request.user))
    filters = form.as_filters() if form.is_valid() else {}
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "restores/job_list.html", {
        "page": _paginate(request, job_selectors.job_list(user=request.user, **filters), JOBS_PAGE_SIZE,
                          paginator=CappedPaginator),
        "all_jobs": True, "form": form, "query": query.urlencode()})

