"""Serving the simulator: a threaded Werkzeug server, in the foreground (CLI) or in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from vb365_sim.app import SimulatorApp
from vb365_sim.faults import FaultRule
from vb365_sim.state import SimClock, SimConfig
from vb365_sim.tls import server_ssl_context


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without a log line per request (it would dominate benchmark time)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def build_server(
    app: SimulatorApp, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False
) -> BaseWSGIServer:
    """A threaded server bound to ``host:port`` (0 = a free port); HTTPS with a self-signed cert if ``tls``."""
    ssl_context = server_ssl_context(host) if tls else None
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler, ssl_context=ssl_context)


def base_url(server: BaseWSGIServer, *, tls: bool) -> str:
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode()
    return f"{'https' if tls else 'http'}://{host}:{port}"


@contextmanager
def serve_in_thread(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    faults: list[FaultRule] | None = None,
    clock: SimClock | None = None,
    **settings: Any,
) -> Iterator[str]:
    """Run a simulator in a daemon thread; yield its base URL (``http://127.0.0.1:54321``, no slash).

    ``clock`` replaces the wall clock: keep a reference and ``advance`` it instead of sleeping.
    ``settings`` are ``SimConfig`` fields, with its defaults (``seed``, ``sessions``, ``content``,
    ``browse_item_latency_us``, the start values of the restore knobs...); an unknown one is a TypeError.
    They are named and defaulted in ``SimConfig`` alone, so the two cannot drift apart.

    The server is shut down and its socket closed when the block exits, even on error.
    """
    config = SimConfig(**settings)
    server = build_server(SimulatorApp(config, faults=faults, clock=clock), host=host, port=port, tls=tls)
    # A short poll interval keeps shutdown (and so test teardown) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="vb365-sim",
                              daemon=True)
    thread.start()
    try:
        yield base_url(server, tls=tls)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
