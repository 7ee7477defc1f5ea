from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from background import selectors as background_selectors
from sessions_app import exceptions, selectors
from sessions_app.models import Role
from sessions_app.views import refusals_recorded


@login_required
@refusals_recorded("operations.view")
def operations(request: HttpRequest) -> HttpResponse:
    """For administrators: workers, queue, failures, the periodic schedule and the recent sync runs."""
    if selectors.user_role(request.user) != Role.ADMIN:
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    return render(request, "background/operations.html", background_selectors.operations_overview())


@login_required
@refusals_recorded("operations.view")
def sync_progress(request: HttpRequest) -> HttpResponse:
    """The running sync's progress bar alone (the operations page polls it while a sync runs)."""
    if selectors.user_role(request.user) != Role.ADMIN:
        raise PermissionDenied(exceptions.NOT_ALLOWED)
    return render(request, "background/_sync_progress.html",
                  {"sync_progress": background_selectors.sync_progress()})
