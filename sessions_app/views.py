"""HTML pages. Views translate HTTP: bind a form, call a selector or a service, render or redirect.

Upstream faults and refusals end as a message on the page, never a 500.
"""
from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme

from sessions_app import auth_backends, charts, exceptions, exports, forms, selectors
from sessions_app.http import client_address
from sessions_app.models import (
    AuditAction,
    Organization,
    RestoreSession,
    Role,
    SessionResult,
    SessionState,
    StartRequest,
    UserProfile,
    Workload,
)
from sessions_app.services import accounts, audit, health, notifications, refusals, restore_sessions, tenants
from sessions_app.services import organizations as organization_services
from sessions_app.upstream import client as upstream
from sessions_app.upstream.errors import UpstreamError

logger = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 25
EVENTS_PAGE_SIZE = 20
RESTORE_POINTS_PAGE_SIZE = 30
DASHBOARD_PAGE_SIZE = 10
# The live view's event orders ("events_order"): newest first while a session works, oldest first once it
# has ended (it reads as a log), unless the person chose.
EVENT_ORDERS = ("newest", "oldest")


class CappedPaginator(Paginator):
    """Counts at most selectors.COUNT_CAP rows: a large history pages fast, and says "more than" beyond it."""

    count_is_exact = True

    @cached_property
    def count(self) -> int:
        count, self.count_is_exact = selectors.capped_count(self.object_list)
        return count

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        offset = (number - 1) * self.per_page
        return self._get_page(selectors.page_rows(self.object_list, offset=offset, limit=self.per_page), number, self)


def _paginate(request: HttpRequest, items: Any, per_page: int, param: str = "page",
              paginator: type[Paginator] = Paginator) -> Page:
    return paginator(items, per_page).get_page(request.GET.get(param))


def upstream_error_text(exc: UpstreamError) -> str:
    """Operator-safe text: what failed and the server's own words; never a credential."""
    status = f" (HTTP {exc.status_code})" if exc.status_code else ""
    return f"VB365 could not complete this{status}: {exc.message}"


def _client_for(request: HttpRequest) -> upstream.UpstreamClient | None:
    """The tenant's own client for tenant users; None means the service account."""
    return tenants.tenant_client_for(request)


ViewFunction = Callable[..., HttpResponse]


def refusals_recorded(operation: str) -> Callable[[ViewFunction], ViewFunction]:
    """Every refusal of the decorated page goes to the audit trail as a refusal of `operation` (unless the
    refusal names its own): a 403, or a 404 for what the user may not see. A service's NotVisible is answered
    with Django's 404 page and its NotAllowed with the 403 page."""

    def decorate(view: ViewFunction) -> ViewFunction:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except (exceptions.NotVisible, Http404) as exc:
                refusal_record(request, operation, exc, target=str(kwargs.get("upstream_id", "")))
                if isinstance(exc, Http404):
                    raise
                raise Http404(exc.message) from None
            except (exceptions.NotAllowed, PermissionDenied) as exc:
                refusal_record(request, operation, exc, target=str(kwargs.get("upstream_id", "")))
                if isinstance(exc, PermissionDenied):
                    raise
                raise PermissionDenied(exc.message) from None

        wrapped.refused_operation = operation  # type: ignore[attr-defined]
        return wrapped

    return decorate


def refusal_record(request: HttpRequest, operation: str, exc: Exception | exceptions.Refusal, *,
                   target: str = "") -> None:
    """Audit a refusal met by this request: the one given or carried by the exception, else `operation` on
    `target`."""
    refusal = exc if isinstance(exc, exceptions.Refusal) else getattr(exc, "refusal", None)
    refusal = refusal or exceptions.Refusal(target=target)
    if not refusal.operation:
        refusal = replace(refusal, operation=operation)
    refusals.access_refused(actor=request.user, refusal=refusal, client_address=client_address(request))


def _session_or_404(request: HttpRequest, upstream_id: str) -> RestoreSession:
    """Raises NotVisible (a 404 through refusals_recorded) for a session the user may not see."""
    return restore_sessions.restore_session_for_viewer(actor=request.user, upstream_id=upstream_id)


def healthz(request: HttpRequest) -> HttpResponse:
    """Database, cache and upstream reachability as JSON: 200 when all answer, 503 otherwise.
    Anyone (a load balancer) learns ok or failing per component; staff also get timings and error texts."""
    healthy, report = health.health_report(with_details=request.user.is_authenticated and request.user.is_staff)
    return JsonResponse(report, status=200 if healthy else 503)  # no-store: NoStoreMiddleware


class SignInView(auth_views.LoginView):
    """Django's sign-in, refused while the user name or the address is throttled after failures."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = accounts.sign_in_throttled(username=request.POST.get("username", ""),
                                             address=client_address(request))
        if refusal:
            # An unbound form: validating the posted one would check the password (and count and audit a failure).
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")[:150]})
            return self.render_to_response(self.get_context_data(form=form, throttled=refusal), status=429)
        return super().post(request, *args, **kwargs)


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The Django admin's own sign-in page, under the same limits as the portal's: else it is a way round them."""
    if request.method == "POST":
        refusal = accounts.sign_in_throttled(username=request.POST.get("username", ""), address=client_address(request))
        if refusal:
            return render(request, "registration/login.html",
                          {"form": auth_forms.AuthenticationForm(request), "throttled": refusal}, status=429)
    return admin.site.login(request)


def tenant_sign_in(request: HttpRequest) -> HttpResponse:
    """"Sign in with your Microsoft 365 organization": VB365 checks the credentials, not Restore Desk."""
    if request.user.is_authenticated:
        return redirect("sessions_app:dashboard")
    form = forms.TenantSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = tenants.tenant_sign_in(username=form.cleaned_data["username"],
                                            password=form.cleaned_data["password"],
                                            client_address=client_address(request))
        except tenants.TenantSignInFailed as exc:
            form.add_error(None, exc.message)
        else:
            login(request, result.user, backend=auth_backends.BACKEND_PATH)
            # The page session ends with the VB365 sign-in at the latest (TenantSignInMiddleware: sooner).
            request.session.set_expiry(result.ends_at)
            messages.success(request, f"Signed in for {result.organization.name}.")
            return redirect("sessions_app:dashboard")
    return render(request, "registration/tenant_login.html", {"form": form})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    working = _paginate(request, selectors.working_sessions_of(user=request.user), DASHBOARD_PAGE_SIZE)
    return render(request, "sessions_app/dashboard.html", {
        "working_sessions": working,
        "stoppable": {session.pk for session in working if selectors.can_stop(request.user, session)},
        "failed_requests": selectors.failed_start_requests(user=request.user),
        "last_sync": selectors.latest_sync_run() if selectors.can_review_all(request.user) else None,
    })


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    try:
        organization_services.organizations_refresh(client=_client_for(request), force="refresh" in request.GET)
    except UpstreamError as exc:
        logger.warning("Organization refresh failed: %s", exc)
        messages.warning(request, f"{upstream_error_text(exc)} Showing the last known list.")
    return render(request, "sessions_app/organization_list.html",
                  {"organizations": selectors.organization_list(user=request.user)})


@login_required
@refusals_recorded("organization.view")
def organization_detail(request: HttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    organization = organization_services.organization_for_viewer(actor=request.user, upstream_id=upstream_id)
    points, points_error = _restore_points(request, organization)
    return render(request, "sessions_app/organization_detail.html", {
        "organization": organization, "restore_points": _paginate(request, points, RESTORE_POINTS_PAGE_SIZE),
        "restore_points_error": points_error,
        "has_restore_points": upstream.configured_dialect().has_restore_points,
    })


def _restore_points(request: HttpRequest, organization: Organization) -> tuple[list[Any], str]:
    if not organization.is_backed_up:
        return [], ""
    try:
        return organization_services.organization_restore_points(organization=organization,
                                                                 client=_client_for(request)), ""
    except UpstreamError as exc:
        logger.warning("Restore points of %s failed: %s", organization.upstream_id, exc)
        return [], upstream_error_text(exc)


@login_required
@refusals_recorded("session.start")
def session_start(request: HttpRequest) -> HttpResponse:
    if not selectors.can_start(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    organization, form_kwargs, points, points_error = _start_form_setup(request)
    already_started = None
    if request.method == "POST":
        form = forms.StartSessionForm(request.POST, **form_kwargs)
        if form.is_valid():
            already_started = _started_from_this_form(request, form)
            response = None if already_started else _start(request, form)
            if response is not None:
                return response
        # Show the form again with what was typed, and a fresh key so that a corrected form starts anew.
        form.data = form.data.copy()
        form.data["submission_key"] = str(uuid.uuid4())
    else:
        form = forms.StartSessionForm(initial={"submission_key": str(uuid.uuid4()),
                                               "organization": organization}, **form_kwargs)
    return render(request, "sessions_app/session_start.html", {
        "form": form, "organization": organization, "restore_points": points, "restore_points_error": points_error,
        "is_tenant": selectors.user_role(request.user) == Role.TENANT, "already_started": already_started,
    })


# A form sent again this soon with the same request (browser Back, then Start) is taken for the first one.
SAME_START_WINDOW = timedelta(minutes=30)


def _started_from_this_form(request: HttpRequest, form: forms.StartSessionForm) -> StartRequest | None:
    """The session this user started moments ago with the same organization, workload, point in time,
    reason and person, under another submission key: a form shown again after Back (with a fresh key and
    the reason the browser filled in) is not a second request until the person says so ("Start another").
    The same key is the service's affair: it answers with the first session."""
    data = form.cleaned_data
    if data.get("start_another"):
        return None
    earlier = selectors.start_request_same_recently(
        user=request.user, since=timezone.now() - SAME_START_WINDOW, organization=data["organization"],
        workload=data["workload"], point_in_time=form.chosen_point_in_time(),
        restore_point_id=data.get("restore_point") or "", reason=data["reason"],
        on_behalf_of=data.get("on_behalf_of"))
    return earlier if earlier is not None and earlier.key != data["submission_key"] else None


def _start_form_setup(request: HttpRequest) -> tuple[Organization | None, dict[str, Any], list[Any], str]:
    """(chosen organization, the form's choices, its restore points, why they are missing)."""
    organizations = selectors.organization_list(user=request.user)
    if not organizations.exists():
        try:
            organization_services.organizations_refresh(client=_client_for(request))
        except UpstreamError as exc:
            messages.warning(request, upstream_error_text(exc))
    chosen = request.POST.get("organization") or request.GET.get("organization") or ""
    organization = None
    if chosen:
        try:
            organization = organization_services.organization_for_viewer(actor=request.user, upstream_id=chosen)
        except exceptions.NotVisible as exc:
            # The form answers "not one of the choices"; asking for it is still a refused start.
            refusal_record(request, "session.start", exc)
    if organization is None and selectors.user_role(request.user) == Role.TENANT:
        organization = organizations.first()
    points, points_error = _restore_points(request, organization) if organization else ([], "")
    workloads = _workloads_for(request, organization)
    asked = request.POST.get("workload", "")
    if organization is not None and asked in upstream.configured_dialect().workloads and asked not in workloads:
        # The form answers "not one of the choices"; asking for it is still a refused start.
        refusal_record(request, "session.start", exceptions.Refusal(
            target=str(organization.upstream_id), organization=organization, workload=asked,
            why="workload outside the user's grants"))
    form_kwargs: dict[str, Any] = {
        "organizations": organizations,
        "workloads": workloads,
        "restore_points": [(point.id, point.backup_time) for point in points],
        "on_behalf_users": selectors.on_behalf_candidates(user=request.user, organization=organization),
    }
    return organization, form_kwargs, points, points_error


def _workloads_for(request: HttpRequest, organization: Organization | None) -> tuple[str, ...]:
    supported = upstream.configured_dialect().workloads
    if organization is None:
        return supported
    allowed = selectors.workloads_allowed(user=request.user, organization=organization)
    return tuple(w for w in supported if allowed is None or w in allowed)


def _start(request: HttpRequest, form: forms.StartSessionForm) -> HttpResponse | None:
    """Call the start service; a redirect on success, None (form shown again with a message) on failure."""
    data = form.cleaned_data
    try:
        session = restore_sessions.restore_session_start(
            actor=request.user, key=data["submission_key"], organization=data["organization"],
            workload=data["workload"], reason=data["reason"], point_in_time=form.chosen_point_in_time(),
            restore_point_id=data.get("restore_point") or "", show_deleted=data["show_deleted"],
            show_all_versions=data["show_all_versions"], scope=data["scope"], ticket=data.get("ticket") or "",
            on_behalf_of=data.get("on_behalf_of"), client_address=client_address(request),
            client=_client_for(request),
        )
    except exceptions.PortalError as exc:
        if exc.refusal is not None:
            refusal_record(request, "session.start", exc)
        for field, field_errors in exc.extra.get("fields", {}).items():
            for error in field_errors:
                form.add_error(field if field in form.fields else None, error)
        if not exc.extra.get("fields"):
            messages.error(request, exc.message)
        return None
    except UpstreamError as exc:
        logger.warning("Start failed: %r", exc)
        messages.error(request, f"{upstream_error_text(exc)} Your reason was kept; you can try again.")
        return None
    if selectors.restore_session_holds_no_data(session=session):
        messages.warning(request, "The restore session has started, but it holds no data: its point in time is "
                                  "before the organization's first backup.")
    else:
        messages.success(request, "The restore session has started.")
    return redirect("sessions_app:session-detail", upstream_id=session.upstream_id)


@login_required
@refusals_recorded("session.view")
def session_detail(request: HttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    session = _session_or_404(request, str(upstream_id))
    session, refresh_error = _refreshed(request, session)
    return render(request, "sessions_app/session_detail.html", {
        **_session_context(request, session), "refresh_error": refresh_error,
    })


@login_required
@refusals_recorded("session.view")
def session_status(request: HttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    """The live part of the detail page, polled by portal.js while the session works."""
    session = _session_or_404(request, str(upstream_id))
    session, refresh_error = _refreshed(request, session)
    response = render(request, "sessions_app/_session_live.html", {
        **_session_context(request, session), "refresh_error": refresh_error,
    })
    response["X-Session-State"] = session.state
    return response


def _refreshed(request: HttpRequest, session: RestoreSession) -> tuple[RestoreSession, str]:
    session, error = restore_sessions.restore_session_current(session=session, client=_client_for(request))
    return session, f"{upstream_error_text(error)} Showing the last known state." if error else ""


def _session_context(request: HttpRequest, session: RestoreSession) -> dict[str, Any]:
    chosen = request.GET.get("events_order", "")
    order = chosen if chosen in EVENT_ORDERS else ("newest" if session.is_working else "oldest")
    events = selectors.restore_session_events(session=session, newest_first=order == "newest")
    return {
        "session": session,
        "events": _paginate(request, events, EVENTS_PAGE_SIZE, "events"),
        "events_order": order,
        "events_order_chosen": chosen if chosen in EVENT_ORDERS else "",
        "can_stop": session.is_working and selectors.can_stop(request.user, session),
        "holds_no_data": selectors.restore_session_holds_no_data(session=session),
    }


STOP_NEEDS_POST = "Nothing was stopped: stopping takes a press of the Stop button (your sign-in may have expired " \
                  "on the way). Press it again if the session should stop."


@login_required
@refusals_recorded("session.stop")
def session_stop(request: HttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    """POST stops the session. A GET (the sign-in page sends the person back here with one after their
    sign-in expired) stops nothing: it lands on the session page, which shows the Stop button when it may."""
    session = _session_or_404(request, str(upstream_id))
    if request.method != "POST":
        if not session.is_working:
            messages.info(request, "This restore session has already stopped.")
        elif selectors.can_stop(request.user, session):
            messages.warning(request, STOP_NEEDS_POST)
        else:
            messages.info(request, "Nothing was stopped.")
        return redirect("sessions_app:session-detail", upstream_id=session.upstream_id)
    try:
        restore_sessions.restore_session_stop(actor=request.user, session=session,
                                              client_address=client_address(request), client=_client_for(request))
    except (exceptions.NotVisible, exceptions.NotAllowed):
        raise  # answered (and audited) by refusals_recorded
    except exceptions.PortalError as exc:
        messages.error(request, exc.message)
    except UpstreamError as exc:
        logger.warning("Stop of %s failed: %r", session.upstream_id, exc)
        messages.error(request, upstream_error_text(exc))
    else:
        messages.success(request, "The restore session has stopped.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect("sessions_app:session-detail", upstream_id=session.upstream_id)


def _session_list_page(request: HttpRequest, *, review: bool, template: str) -> HttpResponse:
    form = forms.SessionFilterForm(request.GET or None, organizations=selectors.organization_list(user=request.user),
                                   review=review)
    filters = form.as_filters() if form.is_valid() else {}
    sessions = selectors.restore_session_list(user=request.user, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {
        "form": form, "page": _paginate(request, sessions, HISTORY_PAGE_SIZE, paginator=CappedPaginator),
        "query": query.urlencode(),
        "review": review,
    })


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    return _session_list_page(request, review=False, template="sessions_app/session_list.html")


@login_required
@refusals_recorded("review.view")
def session_review(request: HttpRequest) -> HttpResponse:
    if not selectors.can_review_all(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    return _session_list_page(request, review=True, template="sessions_app/session_list.html")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    profile_row, _ = UserProfile.objects.get_or_create(user=request.user)
    choices = notifications.PREFERENCE_FIELDS.values()
    form = forms.ProfileForm(request.POST or None, initial={"time_zone": profile_row.time_zone,
                                                            **{name: getattr(profile_row, name) for name in choices}})
    if request.method == "POST" and form.is_valid():
        accounts.profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        notifications.notification_preferences_set(
            user=request.user, **{name: form.cleaned_data[name] for name in choices})
        messages.success(request, "Your settings are saved.")
        return redirect(reverse("sessions_app:profile"))
    return render(request, "sessions_app/profile.html", {"form": form})


def _require_audit_access(request: HttpRequest) -> None:
    """Raises PermissionDenied (audited by refusals_recorded) for roles without the audit trail; for the
    others, closed windows of repeated refusals are summarised first, so that what they read is complete."""
    if not selectors.can_view_audit(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    refusals.refusals_flush()


@login_required
@refusals_recorded("audit.view")
def audit_list(request: HttpRequest) -> HttpResponse:
    _require_audit_access(request)
    form = forms.AuditFilterForm(request.GET or None)
    filters = form.as_filters() if form.is_valid() else {}
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "sessions_app/audit_list.html", {
        "form": form,
        "page": _paginate(request, selectors.audit_event_list(**filters), HISTORY_PAGE_SIZE, paginator=CappedPaginator),
        "query": query.urlencode(),
    })


@login_required
@refusals_recorded("audit.export")
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered audit trail as CSV, streamed row by row (memory stays flat however many rows)."""
    _require_audit_access(request)
    form = forms.AuditFilterForm(request.GET or None)
    filters = form.as_filters() if form.is_valid() else {}
    audit.audit_event_record(action=AuditAction.EXPORT, actor=request.user, client_address=client_address(request),
                             details={"export": "audit_csv", "filters": {k: v for k, v in request.GET.items()}})
    response = StreamingHttpResponse(exports.audit_csv_rows(selectors.audit_event_list(**filters)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="restore-desk-audit.csv"'
    return response


@login_required
@refusals_recorded("audit.overview")
def audit_overview(request: HttpRequest) -> HttpResponse:
    _require_audit_access(request)
    days = 30
    since = timezone.now() - timedelta(days=days)
    return render(request, "sessions_app/audit_overview.html", {
        "days": days,
        "by_workload": charts.stacked_bars_by_day(
            _labelled(selectors.session_activity(since=since, field="workload"), Workload.choices),
            title=f"Sessions per day by workload (last {days} days)"),
        "by_result": charts.stacked_bars_by_day(
            _labelled(selectors.session_activity(since=since, field="result"),
                      [*SessionResult.choices, (SessionState.WORKING, "Working")]),
            title=f"Sessions per day by result (last {days} days)"),
        "top_requesters": charts.horizontal_bars(selectors.top_counts(since=since, field="requested_by__username"),
                                                 title="Top requesters in Restore Desk"),
        "top_initiators": charts.horizontal_bars(selectors.top_counts(since=since, field="initiated_by"),
                                                 title="Top initiators in VB365"),
        "organizations": charts.horizontal_bars(selectors.top_counts(since=since, field="organization_name"),
                                                title="Sessions per organization"),
    })


def _labelled(rows: list[tuple[Any, str, int]], choices: list[tuple[str, str]]) -> list[tuple[Any, str, int]]:
    """Chart rows with stored values ("onedrive") replaced by what people read ("OneDrive")."""
    labels = dict(choices)
    return [(day, labels.get(value, value), count) for day, value, count in rows]
