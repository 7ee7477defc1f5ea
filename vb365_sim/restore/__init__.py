"""Restores, saves and exports inside a restore session: the ``POST`` routes of each version.

One module per workload (exchange, onedrive, sharepoint, teams) builds the selection and calls the shared
answer (common.py: v6/v7 statistics, v8 runs in runs.py; containers.py for files). ``ROUTES`` lists
``(method, template, versions, handler)`` like ``browse.ROUTES``; ``app.py`` adds them to its table.
"""

from __future__ import annotations

from vb365_sim.browse.common import SESSION, BrowseRoute, routes
from vb365_sim.restore import exchange, onedrive, sharepoint, teams
from vb365_sim.restore.common import device_code
from vb365_sim.restore.desk import Knobs, RestoreDesk
from vb365_sim.restore.runs import statistics

ROUTES: list[BrowseRoute] = [
    # Reference: BROWSE-RESTORE.md §2.2 -- S6-S8 RestoreSession_DeviceCodeAction; VR uses it on v4/v5.
    *routes("POST", "organization/restoreDeviceCode", device_code, first=4),
    ("GET", SESSION + "Statistics", range(8, 9), statistics),
    *exchange.ROUTES,
    *onedrive.ROUTES,
    *sharepoint.ROUTES,
    *teams.ROUTES,
]

__all__ = ["ROUTES", "Knobs", "RestoreDesk"]
