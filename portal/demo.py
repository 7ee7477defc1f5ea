"""`make demo`: the simulator and the portal on localhost, with demo users. Ctrl-C stops both.

The only portal module that imports vb365_sim. It runs the simulator in a background thread of this process,
points the portal at it through the environment, migrates a local SQLite database and serves the portal.

The demo runs as production does: DEBUG off (our own 404 and 403 pages; WhiteNoise serves the collected static
files), no line per request, a refused request logged once without a traceback, and the banner with the address
and the logins printed last, once the portal listens. `--debug` (`make demo DEBUG=1`) is for developers:
DEBUG on, Django's debug pages, a log line per request and every upstream call.

tools/screenshots.py runs the same demo in-process through `running_demo()`.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.servers.basehttp import WSGIServer

DEMO_PASSWORD = "restore-demo"
DEMO_USERS = (
    ("olivia", "operator", "self-service operator: two organizations, Exchange only on the second"),
    ("harry", "helpdesk", "helpdesk: every session, starts on behalf of others"),
    ("alice", "auditor", "auditor: reads everything, audit trail and export"),
    ("admin", "admin", "administrator: everything, plus /admin/"),
)
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Demo:
    url: str
    upstream_url: str
    organizations: list[str]
    tenant_logins: list[tuple[str, str]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000, help="0 takes any free port")
    parser.add_argument("--api-version", type=int, default=int(os.environ.get("VB365_API_VERSION", 8)))
    parser.add_argument("--sessions", type=int, default=300, help="size of the simulator's pre-existing history")
    parser.add_argument("--debug", action="store_true",
                        help="for developers: DEBUG on, Django's debug pages, a log line per request")
    args = parser.parse_args()

    from vb365_sim.server import serve_in_thread

    with serve_in_thread(seed=1, sessions=args.sessions) as upstream_url:
        demo_environment(upstream_url=upstream_url, api_version=args.api_version, debug=args.debug)
        organizations = prepare()
        server = portal_server(args.port)
        port = server.server_address[1]
        worker = _start_worker()
        # `kill` (a test, a supervisor) stops the demo as Ctrl-C does, so that the worker is stopped too.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        _print_banner(Demo(url=f"http://{HOST}:{port}/", upstream_url=upstream_url, organizations=organizations,
                           tenant_logins=_tenant_logins(upstream_url)), debug=args.debug)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")
        finally:
            server.server_close()
            _stop_worker(worker)


def _start_worker() -> subprocess.Popen[bytes]:
    """The background worker (scheduled sync, idle sessions, e-mail) as a child, with the demo's environment."""
    return subprocess.Popen([sys.executable, "manage.py", "worker", "--verbosity", "0"],
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Ctrl-C reached the worker too (same process group): it finishes its task; a stubborn one is killed."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def demo_environment(*, upstream_url: str, api_version: int, debug: bool) -> None:
    """The portal's settings for the demo, through the environment as in production (portal/settings.py)."""
    os.environ.setdefault("DJANGO_SECRET_KEY", "demo-only-not-secret")
    os.environ.setdefault("AUDIT_CHAIN_KEY", "demo-only-audit-chain-key-not-secret-0123456789")
    os.environ.setdefault("RESTORE_CREDENTIALS_KEY", "demo-only-restore-credentials-key-not-secret-0123")
    # The switch decides, whatever a .env file says: the demo is production unless a developer asks.
    os.environ["DJANGO_DEBUG"] = "true" if debug else "false"
    # Plain HTTP on loopback: a Secure cookie would never come back.
    os.environ["DJANGO_SECURE_COOKIES"] = "false"
    os.environ["VB365_URL"] = upstream_url
    os.environ["VB365_API_VERSION"] = str(api_version)
    os.environ["VB365_USERNAME"] = "admin"
    os.environ["VB365_PASSWORD"] = "admin"
    # Notifications are printed by the worker, not sent.
    os.environ.setdefault("EMAIL_URL", "consolemail://")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def prepare() -> list[str]:
    """Set Django up, migrate, collect the static files, create the demo users and import VB365's history.
    Returns the names of olivia's organizations."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    organizations = _create_demo_users()
    _import_history()
    return organizations


def portal_server(port: int) -> WSGIServer:
    """The portal's WSGI application on HOST:port (0: any free port), bound and ready to serve.

    Django's threaded development server without `runserver`'s start-up chatter, so that the banner is the last
    thing printed. Static files come from WhiteNoise (in MIDDLEWARE), as in production."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, get_internal_wsgi_application

    server = ThreadedWSGIServer((HOST, port), WSGIRequestHandler)
    server.set_app(get_internal_wsgi_application())
    return server


@contextmanager
def running_demo(*, sessions: int = 60, debug: bool = False,
                 on_ready: Callable[[Demo], None] | None = None) -> Iterator[Demo]:
    """The whole demo in a background thread, on a free port, for scripts (tools/screenshots.py). The caller
    chooses the database through DATABASE_URL before calling (settings are read once, by prepare())."""
    from vb365_sim.server import serve_in_thread

    with serve_in_thread(seed=1, sessions=sessions) as upstream_url:
        demo_environment(upstream_url=upstream_url, api_version=8, debug=debug)
        organizations = prepare()
        server = portal_server(0)
        thread = threading.Thread(target=server.serve_forever, name="demo-portal", daemon=True)
        thread.start()
        demo = Demo(url=f"http://{HOST}:{server.server_address[1]}/", upstream_url=upstream_url,
                    organizations=organizations, tenant_logins=_tenant_logins(upstream_url))
        if on_ready is not None:
            on_ready(demo)
        try:
            yield demo
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _create_demo_users() -> list[str]:
    from django.core.management import call_command

    from sessions_app.services import organizations as organization_services

    organizations = [org for org in organization_services.organizations_refresh(force=True) if org.is_backed_up]
    with open(os.devnull, "w") as quiet:
        for name, role, _ in DEMO_USERS:
            options: list[str] = []
            if role == "operator":
                call_command("portal_user", "add", name, "--role", role, "--password", DEMO_PASSWORD,
                             "--org", str(organizations[0].upstream_id), stdout=quiet)
                options = ["--org", str(organizations[1].upstream_id), "--workload", "exchange"]
            call_command("portal_user", "add", name, "--role", role, "--password", DEMO_PASSWORD, *options,
                         stdout=quiet)
    return [org.name for org in organizations[:2]]


def _import_history() -> None:
    from django.core.management import call_command

    try:
        with open(os.devnull, "w") as quiet:
            call_command("sync_sessions", verbosity=0, stdout=quiet)
    except Exception as exc:  # the demo still runs without history
        print(f"History import skipped: {exc}")


def _tenant_logins(upstream_url: str) -> list[tuple[str, str]]:
    import requests

    info = requests.get(f"{upstream_url}/_sim/info", timeout=5).json()
    return [(org["tenant"]["username"], org["tenant"]["password"]) for org in info["organizations"] if org["tenant"]]


def _print_banner(demo: Demo, *, debug: bool) -> None:
    lines = [
        "=" * 72,
        f"  Restore Desk:        {demo.url}",
        f"  VB365 simulator:     {demo.upstream_url}  (control plane: {demo.upstream_url}/_sim/info)",
        f"  Password for every demo user: {DEMO_PASSWORD}",
        *(f"    {name:<8} {what}" for name, _, what in DEMO_USERS),
        f"  olivia's organizations: {', '.join(demo.organizations)}",
        "  Tenant self-service (\"Sign in with your Microsoft 365 organization\"):",
        *(f"    {username} / {password}" for username, password in demo.tenant_logins),
        ("  Debug mode: DEBUG on, a log line per request." if debug
         else "  Production mode (DEBUG off). For Django's debug pages and request logs: make demo DEBUG=1"),
        "  Stop with Ctrl-C.",
        "=" * 72,
    ]
    print("\n" + "\n".join(lines) + "\n", flush=True)
    sys.stderr.flush()


if __name__ == "__main__":
    main()
