"""Browser tests: headless Debian chromium driven by pytest-playwright against pytest-django's live_server."""
from __future__ import annotations

import os
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

# The sync Playwright API runs an event loop in the test thread; Django's ORM calls from fixtures and
# live_server would otherwise raise SynchronousOnlyOperation. Set before any playwright fixture starts.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium (nothing can be downloaded here), quiet and offline."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


def url(live_server: Any, name: str, *args: Any) -> str:
    return f"{live_server.url}{reverse(name, args=args)}"


def sign_in(page: Page, live_server: Any, username: str) -> None:
    """Sign in through the real login form and wait for the dashboard."""
    page.goto(url(live_server, "login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url(live_server, "sessions_app:dashboard"))
    expect(page.locator(".who")).to_contain_text(username)
