"""Set or remove an organization's application credentials for restores (sealed with RESTORE_CREDENTIALS_KEY,
audited as APP_CREDENTIAL_CHANGE without the secret).

    manage.py app_credential ORGANIZATION --application-id UUID --certificate FILE.pfx [--impersonation ACCOUNT]
    manage.py app_credential ORGANIZATION --remove

ORGANIZATION is its VB365 id or its exact name. The certificate's password is read from the environment variable
RESTORE_CERTIFICATE_PASSWORD (never from the command line, which other users of the machine can see).
"""
from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from restores.services import credentials
from sessions_app.exceptions import PortalError
from sessions_app.models import Organization

PASSWORD_VARIABLE = "RESTORE_CERTIFICATE_PASSWORD"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization")
        parser.add_argument("--application-id", default="")
        parser.add_argument("--certificate", type=Path)
        parser.add_argument("--impersonation", default="")
        parser.add_argument("--remove", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = _organization(options["organization"])
        if options["remove"]:
            removed = credentials.app_credential_remove(actor=None, organization=organization)
            self.stdout.write(f"{organization.name}: application credentials "
                              f"{'removed' if removed else 'were not set'}.")
            return
        if not options["application_id"] or not options["certificate"]:
            raise CommandError("Give --application-id and --certificate (or --remove).")
        try:
            certificate = base64.b64encode(options["certificate"].read_bytes()).decode()
        except OSError as exc:
            raise CommandError(f"Cannot read the certificate: {exc.strerror}.") from None
        try:
            credentials.app_credential_set(actor=None, organization=organization,
                                           application_id=options["application_id"], certificate_b64=certificate,
                                           certificate_password=os.environ.get(PASSWORD_VARIABLE, ""),
                                           impersonation_account=options["impersonation"])
        except PortalError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{organization.name}: application credentials set.")


def _organization(value: str) -> Organization:
    try:
        found = Organization.objects.filter(upstream_id=uuid.UUID(value)).first()
    except ValueError:
        found = Organization.objects.filter(name=value).first()
    if found is None:
        raise CommandError(f"No organization {value!r} (run the sync, or give its VB365 id).")
    return found
