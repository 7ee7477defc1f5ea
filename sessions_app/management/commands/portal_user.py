"""Create portal users; issue and revoke their API tokens.

    manage.py portal_user add NAME --role operator|helpdesk|auditor|admin --password PW
                              [--org ID ...] [--workload W ...]
    manage.py portal_user token NAME
    manage.py portal_user revoke-tokens NAME

`--org` takes VB365 organization ids (the organizations are read from VB365 if not cached yet); `--workload`
limits an operator's grants on those organizations to the given workloads. The password must pass the
password validators (AUTH_PASSWORD_VALIDATORS). `token` issues a new token and shows it this once, with its
expiry; `revoke-tokens` ends every token of the user. Exits non-zero on any error.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app import selectors
from sessions_app.models import Organization, Role, Workload
from sessions_app.services import accounts, api_tokens
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
        token = actions.add_parser("token", help="issue a new API token and show it (only this once)")
        token.add_argument("name")
        revoke = actions.add_parser("revoke-tokens", help="revoke every API token of the user")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            self._add(options)
        elif options["action"] == "token":
            self._token(options["name"])
        else:
            self._revoke_tokens(options["name"])

    def _add(self, options: dict[str, Any]) -> None:
        role = Role(options["role"])
        if options["org"] and role != Role.OPERATOR:
            raise CommandError("--org only applies to operators; other roles see every organization.")
        self._check_password(options["name"], options["password"])
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

    def _check_password(self, name: str, password: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=name).first() or user_model(username=name)
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise CommandError("The password is not accepted: " + " ".join(exc.messages)) from None

    def _user(self, name: str) -> Any:
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"No user named {name}.")
        return user

    def _token(self, name: str) -> None:
        user = self._user(name)
        if selectors.user_role(user) is None:
            raise CommandError(f"{name} has no portal role; give them one first.")
        issued = api_tokens.api_token_create(user=user)
        self.stdout.write(issued.key)
        self.stderr.write(f"Expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now: "
                          f"Restore Desk keeps only its hash (prefix {issued.token.prefix}).")

    def _revoke_tokens(self, name: str) -> None:
        count = api_tokens.api_tokens_revoke_all(user=self._user(name), why="portal_user revoke-tokens")
        self.stdout.write(f"{name}: {count} token{'s' if count != 1 else ''} revoked")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
