"""v8 restore runs: ``GET /v8/RestoreSessions/{sessionId}``, ``/Statistics`` and ``/Events`` of a run.

# Reference: BROWSE-RESTORE.md §4.1 -- v8 restores answer ``{sessionId}``; progress is read from
# ``/Statistics`` (counts grow, ``items[]`` per object) and ``/Events``. The completion signal is open
# (§7); the simulator gives three: counts adding up to ``totalItemsCount``, the run's session ``state``
# ``Stopped`` with an ``endTime``, and a last event "Restore completed".
# Inferred: the ``sessionId`` is a new id (a restore session per action, §3.4), readable by whoever may
# read the explore session; it is not listed by ``GET /RestoreSessions``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from vb365_sim import wire_v6_v8
from vb365_sim.browse.common import paging, respond
from vb365_sim.restore.common import desk, error_text
from vb365_sim.restore.desk import Run
from vb365_sim.state import EventRecord, SessionRecord, not_found
from vb365_sim.wire_common import page

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

# Inferred: a statistics answer lists every item when the run has at most this many, else only the
# failed and skipped ones (the schema requires ``items``; 200,000 of them would be a 40 MB answer).
ITEMS_LISTED = 1000


def find(app: SimulatorApp, call: Call) -> Run | None:
    """The v8 restore run this session id names, if it is one (before v8 a restore answers synchronously)."""
    if call.version < 8:
        return None
    return desk(app).run(call.params["restoreSessionId"], call.who)


def record(run: Run, now_us: int) -> SessionRecord:
    """The run as a restore session (``state`` Working until every item is done)."""
    done = run.done_at(now_us) >= run.selection.count
    counts = run.tally(now_us)[1]
    result = "Failed" if done and counts["Failed"] and not counts["Success"] else \
        "Warning" if counts["Failed"] or counts["Skipped"] else "Success"
    return SessionRecord(
        id=run.id, organization_id=run.organization_id, type=run.session_type, creation_us=run.start_us,
        end_us=run.end_us() if done else None, state="Stopped" if done else "Working", result=result,
        name=run.title, initiated_by=run.owner.split(":", 1)[-1], point_in_time_us=run.start_us,
        details=f"Restore of {run.selection.count} item(s) to {run.target}.", scope_name=None, client_host=None,
        reason=None, etag=1 + run.done_at(now_us), owner=run.owner, restore_point_id=None, history_index=None,
        item_event_cap=0, event_interval_us=0,
    )


def session(app: SimulatorApp, call: Call, run: Run) -> Response:
    return respond(wire_v6_v8.session(record(run, app.state.clock()), call.ctx, detail=True))


def statistics(app: SimulatorApp, call: Call) -> Response:
    """``RESTRestoreSessionStatistics`` of a run (404 for anything else, such as the explore session)."""
    run = find(app, call)
    if run is None:
        raise not_found(f"Restore session with ID {call.params['restoreSessionId']} has no restore statistics.")
    now = app.state.clock()
    done, counts = run.tally(now)
    listed: list[dict[str, Any]] = []
    for i in range(done):
        if len(listed) >= ITEMS_LISTED:
            break
        entry = run.selection.at(i)
        status = run.knobs.outcome(entry.id)
        if run.selection.count > ITEMS_LISTED and status == "Success":
            continue
        item: dict[str, Any] = {"id": entry.id, "itemRestoreDetailsType": "Item", "title": entry.name,
                                "name": entry.name, "itemType": entry.item_type, "status": status,
                                "path": entry.path, "warnings": []}
        if status == "Failed":
            item["error"] = error_text(entry)
        listed.append(item)
    return respond({
        "totalItemsCount": run.selection.count,
        "restoredItemsCount": counts["Success"],
        "failedItemsCount": counts["Failed"],
        "skippedItemsCount": counts["Skipped"],
        "warnings": [],
        "errors": [i["error"] for i in listed if i["status"] == "Failed"][:100],
        "items": listed,
    })


def _event_id(run: Run, order: int) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(f"{run.id}/{order}".encode(), digest_size=16).digest(), version=4))


def _event(run: Run, order: int, now: int) -> EventRecord:
    """Event 0 "Restore started", event k the k-th item, the last "Restore completed" once done."""
    n, done = run.selection.count, run.done_at(now)
    if order == 0:
        return EventRecord(_event_id(run, 0), 0, "None", "Success", run.start_us, run.start_us,
                           "Restore started", f"{run.title} started")
    if order <= n:
        entry = run.selection.at(order - 1)
        start = run.start_us + (order - 1) * run.item_us
        running = order - 1 >= done
        status = "Running" if running else run.knobs.outcome(entry.id)
        verb = {"Running": "Restoring", "Success": "Restored", "Failed": "Failed to restore",
                "Skipped": "Skipped (no changes)"}[status]
        return EventRecord(_event_id(run, order), order, "Restore", status, start,
                           None if running else start + run.item_us, f"Restore {entry.item_type}",
                           f'{verb} "{entry.name}" to {run.target}', item_name=entry.name, item_type=entry.item_type,
                           item_size=entry.size, source=entry.path, target=run.target)
    counts = run.tally(now)[1]
    status = "Warning" if counts["Failed"] or counts["Skipped"] else "Success"
    return EventRecord(_event_id(run, order), order, "None", status, run.end_us(), run.end_us(),
                       "Restore completed", f"{run.title} completed: {counts['Success']} restored, "
                       f"{counts['Failed']} failed, {counts['Skipped']} skipped")


def events(app: SimulatorApp, call: Call, run: Run) -> Response:
    now = app.state.clock()
    n, done = run.selection.count, run.done_at(now)
    total = 1 + min(n, done + 1) + (1 if done >= n else 0)
    offset, limit = paging(call)
    rec = record(run, now)
    results = [wire_v6_v8.event(_event(run, k, now), rec, call.ctx) for k in range(offset, min(total, offset + limit))]
    return respond(page(call.ctx, f"{call.ctx.prefix}/RestoreSessions/{run.id}/Events", results, offset=offset,
                        limit=limit, total=total))


def event(app: SimulatorApp, call: Call, run: Run) -> Response:
    now = app.state.clock()
    n, done = run.selection.count, run.done_at(now)
    total = 1 + min(n, done + 1) + (1 if done >= n else 0)
    wanted = call.params["eventId"].lower()
    # Event ids are a hash of (run, order): only the ones that exist now can match.
    for k in range(total):
        if _event_id(run, k) == wanted:
            return respond(wire_v6_v8.event(_event(run, k, now), record(run, now), call.ctx))
    raise not_found(f"Restore session event with ID {call.params['eventId']} was not found.")
