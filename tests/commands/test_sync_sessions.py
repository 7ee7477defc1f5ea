"""`manage.py sync_sessions`: one summary line, --since parsing, one run at a time, failures exit non-zero."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sessions_app.models import AuditAction, AuditEvent, RestoreSession, SyncRun
from sessions_app.services import sync

SUMMARY = re.compile(r"^Sync #(\d+) done: (\d+) seen, (\d+) new, (\d+) updated, (\d+) unchanged, (\d+) events, "
                     r"(\d+) forgotten upstream\.$")


class Terminal(StringIO):
    """Output that says it is a terminal, as a person's shell is."""

    def isatty(self) -> bool:
        return True


def run(*args, verbosity=1, terminal=False):
    out = Terminal() if terminal else StringIO()
    call_command("sync_sessions", *args, stdout=out, verbosity=verbosity)
    # Split on newlines only: a progress line redrawn in place holds carriage returns.
    return out.getvalue().rstrip("\n").split("\n")


def test_sync_on_a_terminal_prints_progress_and_one_summary_line(organizations, fresh_sim):
    lines = run(terminal=True)
    match = SUMMARY.match(lines[-1])
    assert match, lines[-1]
    run_id, seen, created = (int(match.group(i)) for i in (1, 2, 3))
    assert seen == created == RestoreSession.objects.count() > 0
    assert int(match.group(6)) > 0  # events were read
    assert lines[0].startswith("Reading sessions from VB365")
    assert SyncRun.objects.get(pk=run_id).status == SyncRun.Status.SUCCEEDED


def test_quiet_sync_prints_only_the_summary(organizations, fresh_sim):
    lines = run("--no-events", verbosity=0, terminal=True)
    assert len(lines) == 1 and SUMMARY.match(lines[0])
    assert " 0 events" in lines[0]


def test_sync_not_on_a_terminal_prints_only_the_summary(organizations, fresh_sim):
    lines = run("--full")
    assert len(lines) == 1 and SUMMARY.match(lines[0])


@pytest.mark.parametrize(("version", "progress"), [
    (1, re.compile(r"^\[#{30}\] 20 of 20 sessions \(100%\), 4 pages$")),
    (8, re.compile(r"^20 sessions read, 4 pages$")),
])
def test_full_sync_on_a_terminal_redraws_one_progress_line(organizations, fresh_sim, settings, monkeypatch,
                                                           version, progress):
    settings.VB365_API_VERSION = version
    monkeypatch.setattr(sync, "PAGE_SIZE", 6)
    lines = run("--full", "--no-events", terminal=True)
    assert lines[0] == "Reading sessions from VB365…"
    # The progress line is redrawn in place: each state after a carriage return, ending in the last one.
    states = [state.removesuffix("\x1b[K") for state in lines[1].split("\r")[1:]]
    assert len(states) == 4 and progress.match(states[-1]), states
    if version == 1:
        assert states[0].startswith("[#########---------------------] 6 of 20 sessions (30%), 1 page")
    assert SUMMARY.match(lines[2])


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-01T00:00:00", datetime(2026, 11, 1, tzinfo=dt_timezone.utc)),
    ("2026-11-01T02:00:00+02:00", datetime(2026, 11, 1, tzinfo=dt_timezone.utc)),
    ("2026-11-01 00:00Z", datetime(2026, 11, 1, tzinfo=dt_timezone.utc)),
])
def test_since_is_read_as_iso_8601_utc_when_no_offset(organizations, sim, value, expected):
    lines = run("--since", value, "--no-events")
    assert SyncRun.objects.get().since == expected
    assert SUMMARY.match(lines[-1])


def test_progress_line_states_since_in_utc(organizations, sim):
    lines = run("--since", "2026-11-01T02:00:00+02:00", "--no-events", terminal=True)
    assert lines[0] == "Reading sessions from VB365 created since 2026-11-01 00:00:00 UTC…"


@pytest.mark.parametrize("value", ["yesterday", "1700000000", "2026-13-45T99:00"])
def test_unreadable_since_is_an_error_before_anything_runs(db, value):
    with pytest.raises(CommandError, match="--since is not an ISO 8601 date and time"):
        run("--since", value)
    assert not SyncRun.objects.exists()


def test_second_sync_while_one_runs_exits_with_2(db):
    now = timezone.now()
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    with pytest.raises(CommandError, match="Another history sync is running") as caught:
        run()
    assert caught.value.returncode == 2
    assert SyncRun.objects.count() == 1


def test_abandoned_run_does_not_block_a_new_one(organizations, sim):
    long_ago = timezone.now() - timedelta(hours=1)
    SyncRun.objects.create(status=SyncRun.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    lines = run("--since", timezone.now().isoformat(), "--no-events")
    assert SUMMARY.match(lines[-1])
    assert SyncRun.objects.filter(status=SyncRun.Status.FAILED, error__startswith="Abandoned").count() == 1


def test_upstream_failure_is_an_error_with_exit_1_and_is_recorded(organizations, sim):
    sim.fault(path="(?i)restoresessions", status=503)
    with pytest.raises(CommandError, match=r"Sync failed: .*\(HTTP 503\)") as caught:
        run("--no-events")
    assert caught.value.returncode == 1
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED
    assert AuditEvent.objects.get(action=AuditAction.SYNC).outcome == "failure"
