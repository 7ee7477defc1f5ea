"""`make demo`: the simulator and the portal on localhost, with demo users. Ctrl-C stops both.

The only portal module that imports vb365_sim. It runs the simulator in a background thread of this process,
points the portal at it through the environment, migrates a local SQLite database and serves the portal.
"""
from __future__ import annotations

import argparse
import os
import sys

DEMO_PASSWORD = "restore-demo"
DEMO_USERS = (
    ("olivia", "operator", "self-service operator: two organizations, Exchange only on the second"),
    ("harry", "helpdesk", "helpdesk: every session, starts on behalf of others"),
    ("alice", "auditor", "auditor: reads everything, audit trail and export"),
    ("admin", "admin", "administrator: everything, plus /admin/"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-version", type=int, default=int(os.environ.get("VB365_API_VERSION", 8)))
    parser.add_argument("--sessions", type=int, default=300, help="size of the simulator's pre-existing history")
    args = parser.parse_args()

    from vb365_sim.server import serve_in_thread

    with serve_in_thread(seed=1, sessions=args.sessions) as upstream_url:
        os.environ.setdefault("DJANGO_SECRET_KEY", "demo-only-not-secret")
        os.environ.setdefault("DJANGO_DEBUG", "true")
        os.environ["VB365_URL"] = upstream_url
        os.environ["VB365_API_VERSION"] = str(args.api_version)
        os.environ["VB365_USERNAME"] = "admin"
        os.environ["VB365_PASSWORD"] = "admin"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        organizations = _create_demo_users()
        _import_history()
        _print_banner(upstream_url, args.port, organizations)
        sys.stdout.flush()
        call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False, skip_checks=True)


def _create_demo_users() -> list[str]:
    from django.core.management import call_command

    from sessions_app.services import organizations as organization_services

    organizations = [org for org in organization_services.organizations_refresh(force=True) if org.is_backed_up]
    for name, role, _ in DEMO_USERS:
        options: list[str] = []
        if role == "operator":
            call_command("portal_user", "add", name, "--role", role, "--password", DEMO_PASSWORD,
                         "--org", str(organizations[0].upstream_id), stdout=open(os.devnull, "w"))
            options = ["--org", str(organizations[1].upstream_id), "--workload", "exchange"]
        call_command("portal_user", "add", name, "--role", role, "--password", DEMO_PASSWORD, *options,
                     stdout=open(os.devnull, "w"))
    return [org.name for org in organizations[:2]]


def _import_history() -> None:
    from django.core.management import call_command

    try:
        call_command("sync_sessions", verbosity=0, stdout=open(os.devnull, "w"))
    except Exception as exc:  # the demo still runs without history
        print(f"History import skipped: {exc}")


def _tenant_logins(upstream_url: str) -> list[str]:
    import requests

    info = requests.get(f"{upstream_url}/_sim/info", timeout=5).json()
    return [f"{org['tenant']['username']} / {org['tenant']['password']}" for org in info["organizations"] if org["tenant"]]


def _print_banner(upstream_url: str, port: int, organizations: list[str]) -> None:
    print("\n" + "=" * 72)
    print(f"  Restore Desk:        http://127.0.0.1:{port}/")
    print(f"  VB365 simulator:     {upstream_url}  (control plane: {upstream_url}/_sim/info)")
    print(f"  Password for every demo user: {DEMO_PASSWORD}")
    for name, _, what in DEMO_USERS:
        print(f"    {name:<8} {what}")
    print(f"  olivia's organizations: {', '.join(organizations)}")
    print("  Tenant self-service (\"Sign in with your Microsoft 365 organization\"):")
    for login in _tenant_logins(upstream_url):
        print(f"    {login}")
    print("  Stop with Ctrl-C.")
    print("=" * 72 + "\n")


if __name__ == "__main__":
    main()
