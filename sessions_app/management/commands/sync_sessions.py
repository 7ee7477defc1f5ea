"""Pull VB365's restore-session history into Restore Desk.

    manage.py sync_sessions [--since ISO] [--full] [--no-events]

Without options: incremental, from the last successful run's watermark minus an overlap (everything on the
first run). `--full` reads the whole history and marks sessions VB365 no longer has as forgotten. One sync
runs at a time; a second one exits with status 2. Upstream failures exit with status 1 (the run is recorded).
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
            raise CommandError(f"Sync failed: {exc}") from None
        self.stdout.write(self.style.SUCCESS(
            f"Sync #{result.run_id} done: {result.seen} seen, {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.events} events, {result.forgotten} forgotten upstream."))

    def _progress(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)
