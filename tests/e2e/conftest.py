"""Browser tests: headless chromium driven by pytest-playwright against pytest-django's live_server.

The browser and Playwright live only while this package runs (package scope, below): the sync Playwright API
keeps an asyncio loop running in the test thread for as long as it is started, and Django refuses ORM calls
from a thread with a running loop. So DJANGO_ALLOW_ASYNC_UNSAFE is set for this package alone, and every
test outside it runs with Django's guard intact.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, BrowserType, Page, Playwright, expect, sync_playwright

from tests.conftest import PASSWORD

# Path of the chromium to drive; without it, `chromium` (or `chromium-browser`) on PATH, else Playwright's own.
CHROMIUM_SETTING = "E2E_CHROMIUM_PATH"


def chromium_executable() -> str | None:
    return os.environ.get(CHROMIUM_SETTING) or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system chromium where there is one (nothing can be downloaded here), quiet and offline."""
    executable = chromium_executable()
    return {
        **browser_type_launch_args,
        **({"executable_path": executable} if executable else {}),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture(scope="package")
def _async_unsafe_orm() -> Iterator[None]:
    """Django ORM calls from the thread that runs Playwright's loop, for this package's tests only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def playwright(_async_unsafe_orm: None) -> Iterator[Playwright]:
    """pytest-playwright's session fixture, narrowed to this package (see the module docstring)."""
    started = sync_playwright().start()
    yield started
    started.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args(pytestconfig: pytest.Config, playwright: Playwright, device: str | None,
                         base_url: str | None, _pw_artifacts_folder: Any) -> dict[str, Any]:
    """As pytest-playwright builds it (`--device`, `--base-url`, `--video`), on the package's Playwright."""
    context_args: dict[str, Any] = dict(playwright.devices[device]) if device else {}
    if base_url:
        context_args["base_url"] = base_url
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        context_args["record_video_dir"] = _pw_artifacts_folder.name
    return context_args


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
