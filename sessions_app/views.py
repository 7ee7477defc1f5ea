"""HTML pages. Views translate HTTP: bind a form, call a selector or a service, render or redirect.

Upstream faults and refusals end as a message on the page, never a 500.
"""
from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme

from sessions_app import auth_backends, charts, exceptions, forms, selectors
from sessions_app.http import AuthenticatedHttpRequest, client_address
from sessions_app.models import AuditEvent, RestoreSession, SessionResult, SessionState, StartRequest, Workload
from sessions_app.services import accounts, audit_exports, health, notifications, refusals, restore_sessions, tenants
from sessions_app.services import organizations as organization_services
from sessions_app.services import session_start as start_services
from sessions_app.specs import SessionQuery, StartOptions
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
        count, self.count_is_exact = selectors.capped_count(self._rows())
        return count

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        offset = (number - 1) * self.per_page
        return Page(selectors.page_rows(self._rows(), offset=offset, limit=self.per_page), number, self)

    def _rows(self) -> QuerySet[Any]:
        assert isinstance(self.object_list, QuerySet), "CappedPaginator pages querysets"
        return self.object_list


def _paginate(request: HttpRequest, items: Sequence[Any] | QuerySet[Any], per_page: int, param: str = "page",
              paginator: type[Paginator] = Paginator) -> Page:
    return paginator(items, per_page).get_page(request.GET.get(param))


def upstream_error_text(exc: UpstreamError) -> str:
    """Operator-safe text: what failed and the server's own words; never a credential."""
    status = f" (HTTP {exc.status_code})" if exc.status_code else ""
    return f"VB365 could not complete this{status}: {exc.message}"


def _error_text(exc: UpstreamError | None) -> str:
    return upstream_error_text(exc) if exc is not None else ""


def _client(request: AuthenticatedHttpRequest) -> upstream.UpstreamClient:
    """The client that speaks for the signed-in person (a tenant's own sign-in, else the service account)."""
    return tenants.client_for(user=request.user)


ViewFunction = Callable[..., HttpResponseBase]


def refusals_recorded(operation: str) -> Callable[[ViewFunction], ViewFunction]:
    """Every refusal of the decorated page goes to the audit trail as a refusal of `operation` (unless the
    refusal names its own): a 403, or a 404 for what the user may not see. A service's NotVisible is answered
    with Django's 404 page and its NotAllowed with the 403 page."""

    def decorate(view: ViewFunction) -> ViewFunction:
        @functools.wraps(view)
        def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
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

        # Read by the test that every refusing page records its refusals.
        wrapped.__dict__["refused_operation"] = operation
        return wrapped

    return decorate


def refusal_record(request: AuthenticatedHttpRequest, operation: str, refused: BaseException | exceptions.Refusal, *,
                   target: str = "") -> None:
    """Audit a refusal met by this request (services.refusals.refusal_record)."""
    refusals.refusal_record(actor=request.user, operation=operation, refused=refused, target=target,
                            client_address=client_address(request))


def _session_or_404(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> RestoreSession:
    """Raises NotVisible (a 404 through refusals_recorded) for a session the user may not see."""
    return restore_sessions.restore_session_for_viewer(actor=request.user, upstream_id=str(upstream_id))


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
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    working = _paginate(request, selectors.working_sessions_of(user=user), DASHBOARD_PAGE_SIZE)
    return render(request, "sessions_app/dashboard.html", {
        "working_sessions": working,
        # The rows are sessions the user sees: only the role's rule is left to ask, without a query a row.
        "stoppable": {session.pk for session in working if selectors.may_stop_visible(user, session)},
        "failed_requests": selectors.failed_start_requests(user=user),
        "last_sync": selectors.latest_sync_run() if selectors.can_review_all(user) else None,
    })


@login_required
def organization_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        organization_services.organizations_refresh(client=_client(request), force="refresh" in request.GET)
    except UpstreamError as exc:
        logger.warning("Organization refresh failed: %s", exc)
        messages.warning(request, f"{upstream_error_text(exc)} Showing the last known list.")
    return render(request, "sessions_app/organization_list.html",
                  {"organizations": selectors.organization_list(user=request.user)})


@login_required
@refusals_recorded("organization.view")
def organization_detail(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    organization = organization_services.organization_for_viewer(actor=request.user, upstream_id=upstream_id)
    client = _client(request)
    listed = start_services.restore_points_of(organization=organization, client=client)
    return render(request, "sessions_app/organization_detail.html", {
        "organization": organization, "restore_points": _paginate(request, listed.points, RESTORE_POINTS_PAGE_SIZE),
        "restore_points_error": _error_text(listed.error),
        "has_restore_points": client.dialect.has_restore_points,
    })


@login_required
@refusals_recorded("session.start")
def session_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    client = _client(request)
    options = _start_options(request, client)
    if not options.may_start:
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    form = _start_form(request, options)
    already_started = None
    if form.is_bound and form.is_valid():
        already_started = _started_from_this_form(request, form)
        started = None if already_started else _start(request, form, client)
        if started is not None:
            return started
    return render(request, "sessions_app/session_start.html", {
        "form": form, "options": options, "organization": options.organization,
        "restore_points": options.restore_points.points, "already_started": already_started,
        "restore_points_error": _error_text(options.restore_points.error),
    })


def _start_options(request: AuthenticatedHttpRequest, client: upstream.UpstreamClient) -> StartOptions:
    """StartOptions for the organization named by the form or the query; a refused or failed lookup is said."""
    chosen = request.POST.get("organization") or request.GET.get("organization") or ""
    options = start_services.start_page_options(user=request.user, organization_id=chosen, client=client)
    if options.organizations_error is not None:
        messages.warning(request, upstream_error_text(options.organizations_error))
    if options.organization_refused is not None:
        # The form answers "not one of the choices"; asking for it is still a refused start.
        refusal_record(request, "session.start", options.organization_refused)
    return options


def _start_form(request: AuthenticatedHttpRequest, options: StartOptions) -> forms.StartSessionForm:
    if request.method != "POST":
        initial = {"submission_key": str(uuid.uuid4()), "organization": options.organization}
        return forms.StartSessionForm(initial=initial, options=options)
    form = forms.StartSessionForm(request.POST, options=options)
    if form.is_valid():
        return form
    if form.refusal is not None:
        # The form answers "not one of the choices"; asking for it is still a refused start.
        refusal_record(request, "session.start", form.refusal)
    # Shown again with what was typed, and a fresh key so that a corrected form starts anew.
    return _with_fresh_key(form)


def _with_fresh_key(form: forms.StartSessionForm) -> forms.StartSessionForm:
    assert isinstance(form.data, QueryDict)
    data = form.data.copy()
    data["submission_key"] = str(uuid.uuid4())
    form.data = data
    return form


# A form sent again this soon with the same request (browser Back, then Start) is taken for the first one.
SAME_START_WINDOW = timedelta(minutes=30)


def _started_from_this_form(request: AuthenticatedHttpRequest, form: forms.StartSessionForm) -> StartRequest | None:
    """The session already started with this request from a form shown again ("Start another" says otherwise)."""
    if form.cleaned_data.get("start_another"):
        return None
    earlier = start_services.start_request_same_recently(user=request.user, spec=form.spec(),
                                                         key=form.cleaned_data["submission_key"],
                                                         within=SAME_START_WINDOW)
    if earlier is not None:
        _with_fresh_key(form)
    return earlier


def _start(request: AuthenticatedHttpRequest, form: forms.StartSessionForm, client: upstream.UpstreamClient
           ) -> HttpResponse | None:
    """Call the start service; a redirect on success, None (form shown again with a message) on failure."""
    try:
        session = start_services.restore_session_start(
            actor=request.user, key=form.cleaned_data["submission_key"], spec=form.spec(),
            client_address=client_address(request), client=client)
    except exceptions.PortalError as exc:
        _start_refused(request, form, exc)
        return None
    except UpstreamError as exc:
        logger.warning("Start failed: %r", exc)
        messages.error(request, f"{upstream_error_text(exc)} Your reason was kept; you can try again.")
        _with_fresh_key(form)
        return None
    if selectors.restore_session_holds_no_data(session=session):
        messages.warning(request, "The restore session has started, but it holds no data: its point in time is "
                                  "before the organization's first backup.")
    else:
        messages.success(request, "The restore session has started.")
    return redirect("sessions_app:session-detail", upstream_id=session.upstream_id)


def _start_refused(request: AuthenticatedHttpRequest, form: forms.StartSessionForm, exc: exceptions.PortalError
                   ) -> None:
    """The service's refusal, on the form: its field errors under their fields, else as a message."""
    if exc.refusal is not None:
        refusal_record(request, "session.start", exc)
    for field, field_errors in exc.extra.get("fields", {}).items():
        for error in field_errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.extra.get("fields"):
        messages.error(request, exc.message)
    _with_fresh_key(form)


@login_required
@refusals_recorded("session.view")
def session_detail(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    session, refresh_error = _refreshed(request, _session_or_404(request, upstream_id))
    return render(request, "sessions_app/session_detail.html", {
        **_session_context(request, session), "refresh_error": refresh_error,
    })


@login_required
@refusals_recorded("session.view")
def session_status(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    """The live part of the detail page, polled by portal.js while the session works."""
    session, refresh_error = _refreshed(request, _session_or_404(request, upstream_id))
    response = render(request, "sessions_app/_session_live.html", {
        **_session_context(request, session), "refresh_error": refresh_error,
    })
    response["X-Session-State"] = session.state
    return response


def _refreshed(request: AuthenticatedHttpRequest, session: RestoreSession) -> tuple[RestoreSession, str]:
    session, error = restore_sessions.restore_session_current(session=session, client=_client(request))
    return session, f"{upstream_error_text(error)} Showing the last known state." if error else ""


def _session_context(request: AuthenticatedHttpRequest, session: RestoreSession) -> dict[str, Any]:
    chosen = request.GET.get("events_order", "")
    order = chosen if chosen in EVENT_ORDERS else ("newest" if session.is_working else "oldest")
    events = selectors.restore_session_events(session=session, newest_first=order == "newest")
    return {
        "session": session,
        "events": _paginate(request, events, EVENTS_PAGE_SIZE, "events"),
        "events_order": order,
        "events_order_chosen": chosen if chosen in EVENT_ORDERS else "",
        # The session was looked up among those the user sees: only the role's rule is left to ask.
        "can_stop": session.is_working and selectors.may_stop_visible(request.user, session),
        "holds_no_data": selectors.restore_session_holds_no_data(session=session),
    }


STOP_NEEDS_POST = "Nothing was stopped: stopping takes a press of the Stop button (your sign-in may have expired " \
                  "on the way). Press it again if the session should stop."


@login_required
@refusals_recorded("session.stop")
def session_stop(request: AuthenticatedHttpRequest, upstream_id: uuid.UUID) -> HttpResponse:
    """POST stops the session. A GET (the sign-in page sends the person back here with one after their
    sign-in expired) stops nothing: it lands on the session page, which shows the Stop button when it may."""
    session = _session_or_404(request, upstream_id)
    if request.method != "POST":
        _stop_not_pressed(request, session)
        return redirect("sessions_app:session-detail", upstream_id=session.upstream_id)
    try:
        restore_sessions.restore_session_stop(actor=request.user, session=session,
                                              client_address=client_address(request), client=_client(request))
    except (exceptions.NotVisible, exceptions.NotAllowed):
        raise  # answered (and audited) by refusals_recorded
    except exceptions.PortalError as exc:
        messages.error(request, exc.message)
    except UpstreamError as exc:
        logger.warning("Stop of %s failed: %r", session.upstream_id, exc)
        messages.error(request, upstream_error_text(exc))
    else:
        messages.success(request, "The restore session has stopped.")
    return redirect(_back_or(request, reverse("sessions_app:session-detail", args=[session.upstream_id])))


def _stop_not_pressed(request: AuthenticatedHttpRequest, session: RestoreSession) -> None:
    if not session.is_working:
        messages.info(request, "This restore session has already stopped.")
    elif selectors.may_stop_visible(request.user, session):
        messages.warning(request, STOP_NEEDS_POST)
    else:
        messages.info(request, "Nothing was stopped.")


def _back_or(request: AuthenticatedHttpRequest, default: str) -> str:
    """The page the form came from (`next`), when it is one of ours; else `default`."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return back
    return default


def _session_list_page(request: AuthenticatedHttpRequest, *, review: bool) -> HttpResponse:
    form = forms.SessionFilterForm(request.GET or None, organizations=selectors.organization_list(user=request.user),
                                   review=review)
    query = form.query() if form.is_valid() else SessionQuery()
    sessions = selectors.restore_session_list(user=request.user, query=query)
    return render(request, "sessions_app/session_list.html", {
        "form": form, "page": _paginate(request, sessions, HISTORY_PAGE_SIZE, paginator=CappedPaginator),
        "query": _query_without_page(request), "review": review,
    })


def _query_without_page(request: HttpRequest) -> str:
    """The query string of this page for its pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def session_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _session_list_page(request, review=False)


@login_required
@refusals_recorded("review.view")
def session_review(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not selectors.can_review_all(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    return _session_list_page(request, review=True)


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    stored = selectors.profile_of(user=request.user)
    choices = notifications.PREFERENCE_FIELDS.values()
    form = forms.ProfileForm(request.POST or None, initial={"time_zone": stored.time_zone,
                                                            **{name: getattr(stored, name) for name in choices}})
    if request.method == "POST" and form.is_valid():
        accounts.profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        notifications.notification_preferences_set(
            user=request.user, **{name: form.cleaned_data[name] for name in choices})
        messages.success(request, "Your settings are saved.")
        return redirect(reverse("sessions_app:profile"))
    return render(request, "sessions_app/profile.html", {"form": form})


def _require_audit_access(request: AuthenticatedHttpRequest) -> None:
    """Raises PermissionDenied (audited by refusals_recorded) for roles without the audit trail; for the
    others, closed windows of repeated refusals are summarised first, so that what they read is complete."""
    if not selectors.can_view_audit(request.user):
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    refusals.refusals_flush()


def _audit_events(request: HttpRequest) -> tuple[forms.AuditFilterForm, QuerySet[AuditEvent]]:
    form = forms.AuditFilterForm(request.GET or None)
    return form, selectors.audit_event_list(**(form.as_filters() if form.is_valid() else {}))


@login_required
@refusals_recorded("audit.view")
def audit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_audit_access(request)
    form, events = _audit_events(request)
    return render(request, "sessions_app/audit_list.html", {
        "form": form, "page": _paginate(request, events, HISTORY_PAGE_SIZE, paginator=CappedPaginator),
        "query": _query_without_page(request),
    })


@login_required
@refusals_recorded("audit.export")
def audit_export(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV, streamed row by row (memory stays flat however many rows)."""
    _require_audit_access(request)
    _, events = _audit_events(request)
    rows = audit_exports.audit_csv_export(actor=request.user, events=events, filters=request.GET.dict(),
                                          client_address=client_address(request))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="restore-desk-audit.csv"'
    return response


@login_required
@refusals_recorded("audit.overview")
def audit_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
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
