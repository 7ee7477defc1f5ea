"""Create portal users and print API tokens.

    manage.py portal_user add NAME --role operator|helpdesk|auditor|admin --password PW [--org ID ...] [--workload W ...]
    manage.py portal_user token NAME

`--org` takes VB365 organization ids (the organizations are read from VB365 if not cached yet); `--workload`
limits an operator's grants on those organizations to the given workloads. Exits non-zero on any error.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app import selectors
from sessions_app.models import Organization, Role, Workload
from sessions_app.services import accounts
from sessions_app.services import organizations as organization_services
from sessions_app.upstream.errors import UpstreamError

ASSIGNABLE_ROLES = [Role.OPERATOR, Role.HELPDESK, Role.AUDITOR, Role.ADMIN]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="create or update a user")
        add.add_argument("name")
        add.add_argument("--role", required=True, choices=[role.value for role in ASSIGNABLE_ROLES])
        add.add_argument("--password", required=True)
        add.add_argument("--org", action="append", default=[], metavar="ID", help="VB365 organization id (repeatable)")
        add.add_argument("--workload", action="append", default=[], choices=[w.value for w in Workload])
        token = actions.add_parser("token", help="print the user's API token (created if needed)")
        token.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            self._add(options)
        else:
            self._token(options["name"])

    def _add(self, options: dict[str, Any]) -> None:
        role = Role(options["role"])
        if options["org"] and role != Role.OPERATOR:
            raise CommandError("--org only applies to operators; other roles see every organization.")
        organizations = [self._organization(org_id) for org_id in options["org"]]
        user = accounts.user_create(username=options["name"], password=options["password"], role=role,
                                    organizations=organizations, workloads=options["workload"])
        grants = ", ".join(f"{o.name} ({'/'.join(options['workload']) or 'all workloads'})" for o in organizations)
        self.stdout.write(f"{user.get_username()}: {role.label}{f', grants: {grants}' if grants else ''}")

    def _organization(self, org_id: str) -> Organization:
        found = Organization.objects.filter(upstream_id=org_id).first() if _is_uuid(org_id) else None
        if found is None:
            try:
                organization_services.organizations_refresh(force=True)
            except UpstreamError as exc:
                raise CommandError(f"Cannot read organizations from VB365: {exc}") from None
            found = Organization.objects.filter(upstream_id=org_id).first() if _is_uuid(org_id) else None
        if found is None:
            raise CommandError(f"VB365 has no organization with id {org_id}.")
        return found

    def _token(self, name: str) -> None:
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"No user named {name}.")
        if selectors.user_role(user) is None:
            raise CommandError(f"{name} has no portal role; give them one first.")
        self.stdout.write(accounts.api_token_get_or_create(user=user))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
