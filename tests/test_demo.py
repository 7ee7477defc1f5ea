"""`make demo` (portal/demo.py) runs as production does: our own error pages, a favicon, quiet logs with a refusal
logged once and without a traceback, and the banner last; `--debug` is the developers' switch."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from portal.demo import DEMO_PASSWORD

pytestmark = pytest.mark.integration
BASE_DIR = Path(__file__).resolve().parent.parent
BANNER_END = "=" * 72


def _collect(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line.rstrip("\n"))


class RunningDemo:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url = ""
        self._readers = [threading.Thread(target=_collect, args=(stream, lines), daemon=True)
                         for stream, lines in ((process.stdout, self.stdout), (process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def stop(self) -> None:
        """Ends the demo and reads what it printed to the end."""
        self.process.terminate()
        self.process.wait(timeout=20)
        for reader in self._readers:
            reader.join(timeout=5)


def _start_demo(tmp_path: Path, *options: str) -> RunningDemo:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "AUDIT_CHECKPOINT_PATH": str(tmp_path / "checkpoints.jsonl"), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return RunningDemo(subprocess.Popen(
        [sys.executable, "-m", "portal.demo", "--port", "0", "--sessions", "5", *options],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))


def _wait_for_banner(demo: RunningDemo) -> None:
    for _ in range(600):
        banner = [line for line in demo.stdout if line.startswith("  Restore Desk:")]
        if banner and demo.stdout.count(BANNER_END) >= 2:
            demo.url = banner[0].split()[-1].rstrip("/")
            return
        if demo.process.poll() is not None:
            break
        threading.Event().wait(0.1)
    raise AssertionError("the demo printed no banner:\n" + "\n".join(demo.stdout + demo.stderr))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    running = _start_demo(tmp_path)
    try:
        _wait_for_banner(running)
        yield running
    finally:
        running.stop()


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/signin/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    session.post(f"{base}/signin/", data={"csrfmiddlewaretoken": token, "username": username,
                                          "password": DEMO_PASSWORD}, timeout=10)
    return session


def test_the_demo_runs_like_production(demo: RunningDemo) -> None:
    # The banner is what the person sees last: nothing follows it on the terminal.
    assert demo.stdout[-1] == "" and demo.stdout[-2] == BANNER_END
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", demo.url)
    assert any("olivia" in line for line in demo.stdout) and any("restore-demo" in line for line in demo.stdout)

    missing = requests.get(f"{demo.url}/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "Page not found" in missing.text or "not found" in missing.text.lower()
    assert "URLconf" not in missing.text and "urlpatterns" not in missing.text.lower()

    icon = requests.get(f"{demo.url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content.startswith(b"\x00\x00\x01\x00")  # an icon file
    page = requests.get(f"{demo.url}/signin/", timeout=10)
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page.text).group(1)  # type: ignore[union-attr]
    assert requests.get(f"{demo.url}{stylesheet}", timeout=10).status_code == 200

    olivia = _signed_in(demo.url, "olivia")
    assert olivia.get(f"{demo.url}/", timeout=10).status_code == 200
    assert olivia.get(f"{demo.url}/audit/", timeout=10).status_code == 403
    demo.stop()

    log = "\n".join(demo.stderr)
    assert "Traceback" not in log
    assert len([line for line in demo.stderr if "Forbidden" in line or " 403 " in line]) == 1
    # Quiet: no line per request, no upstream call logged.
    assert '"GET / HTTP/1.1"' not in log and "sessions_app.upstream" not in log


def test_the_debug_switch_turns_on_debug_pages_and_request_lines(tmp_path: Path) -> None:
    demo = _start_demo(tmp_path, "--debug")
    try:
        _wait_for_banner(demo)
        assert any("Debug mode" in line for line in demo.stdout)
        assert "URLconf" in requests.get(f"{demo.url}/no-such-page/", timeout=10).text
        # The server logs the request line once the answer is sent.
        for _ in range(100):
            if any('"GET /no-such-page/ HTTP/1.1" 404' in line for line in demo.stderr):
                break
            threading.Event().wait(0.1)
    finally:
        demo.stop()
    assert any('"GET /no-such-page/ HTTP/1.1" 404' in line for line in demo.stderr)
