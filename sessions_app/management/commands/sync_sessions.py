"""Pull VB365's restore-session history into Restore Desk.

    manage.py sync_sessions [--since ISO] [--full] [--no-events]

Without options: incremental, from the last successful run's watermark minus an overlap (everything on the
first run). `--full` reads the whole history and marks sessions VB365 no longer has as forgotten. One sync
runs at a time; a second one exits with status 2. Upstream failures exit with status 1 (the run is recorded).
On a terminal it shows its progress (a bar when VB365's paging tells the total, else pages and sessions read);
otherwise, as from cron, it prints only the summary line.
"""
from __future__ import annotations

from datetime import timezone as dt_timezone
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from sessions_app.services import sync
from sessions_app.upstream.errors import UpstreamError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="only sessions created at or after this ISO 8601 time (UTC if no offset)")
        parser.add_argument("--full", action="store_true", help="read the whole history; detect forgotten sessions")
        parser.add_argument("--no-events", action="store_true", help="skip reading events")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        self.show_progress = self.verbosity >= 1 and self.stdout.isatty()
        self.bar_shown = False
        since = None
        if options["since"]:
            try:
                since = parse_datetime(options["since"])
            except ValueError:
                since = None
            if since is None:
                raise CommandError(f"--since is not an ISO 8601 date and time: {options['since']!r}")
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt_timezone.utc)
        try:
            result = sync.restore_sessions_sync(since=since, full=options["full"], with_events=not options["no_events"],
                                                progress=self._progress)
        except sync.SyncAlreadyRunning as exc:
            raise CommandError(exc.message, returncode=2) from None
        except UpstreamError as exc:
            self._end_bar()
            raise CommandError(f"Sync failed: {exc}") from None
        self._end_bar()
        self.stdout.write(self.style.SUCCESS(
            f"Sync #{result.run_id} done: {result.seen} seen, {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.events} events, {result.forgotten} forgotten upstream."))

    def _progress(self, step: sync.SyncProgress) -> None:
        if not self.show_progress:
            return
        if not step.page_read:
            self._end_bar()
            self.stdout.write(step.message)
            return
        # One line redrawn in place (carriage return, then erase to the end of the line).
        self.stdout.write(f"\r{progress_line(step)}\x1b[K", ending="")
        self.stdout.flush()
        self.bar_shown = True

    def _end_bar(self) -> None:
        if self.bar_shown:
            self.stdout.write("")
            self.bar_shown = False


BAR_WIDTH = 30


def progress_line(step: sync.SyncProgress) -> str:
    """`[#####-----] 1,200 of 5,000 sessions (24%), 3 pages` when the total is known, else the counts read."""
    pages = f"{step.pages:,} page{'s' if step.pages != 1 else ''}"
    if not step.expected:
        return f"{step.sessions:,} sessions read, {pages}"
    done = min(step.sessions, step.expected)
    filled = BAR_WIDTH * done // step.expected
    return (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done:,} of {step.expected:,} sessions "
            f"({100 * done // step.expected}%), {pages}")
