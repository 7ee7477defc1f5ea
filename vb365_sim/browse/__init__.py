"""Browsing inside a restore session: the routes of ``/vN/RestoreSessions/{id}/organization/...``.

One module per workload (routes and wire shapes together); the contents come from ``vb365_sim.contents``.
``ROUTES`` lists ``(method, template, versions, handler)``; ``app.py`` adds them to its route table, so
authentication, faults, stats and the version's error body apply as to every other path.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse import exchange, onedrive, sharepoint, teams
from vb365_sim.browse.common import BrowseRoute, link, respond, routes, session_view

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

_LISTS = {"Vex": ("mailboxes", "organization/mailboxes"), "Veod": ("oneDrives", "Organization/OneDrives"),
          "Vesp": ("sites", "Organization/Sites"), "Vet": ("teams", "organization/teams")}


def _display_time(us: int) -> str:
    """``6/26/2017 3:07:39 PM`` as in the documented example."""
    tm = time.gmtime(us // 1_000_000)
    hour = tm.tm_hour % 12 or 12
    half = "PM" if tm.tm_hour >= 12 else "AM"
    return f"{tm.tm_mon}/{tm.tm_mday}/{tm.tm_year} {hour}:{tm.tm_min:02d}:{tm.tm_sec:02d} {half}"


def organization(app: SimulatorApp, call: Call) -> Response:
    """``RESTBackupOrganization``; the name carries the point in time.

    # Reference: BROWSE-RESTORE.md §1.1 -- ``"westsupport.onmicrosoft.com (6/26/2017 3:07:39 PM)"``.
    """
    view = session_view(app, call, None)
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    org = app.state.orgs_by_id[rec.organization_id]
    name, template = _LISTS[rec.type]
    return respond({
        "id": org.id,
        "name": f"{org.name} ({_display_time(view.t if view.t is not None else rec.point_in_time_us)})",
        "type": "Office365",
        "_links": {"self": link(call, "organization"), name: link(call, template)},
    })


ROUTES: list[BrowseRoute] = [
    *routes("GET", "organization", organization),
    *exchange.ROUTES,
    *onedrive.ROUTES,
    *sharepoint.ROUTES,
    *teams.ROUTES,
]
