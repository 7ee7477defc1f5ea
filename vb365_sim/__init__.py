"""vb365_sim: a simulator of the Veeam Backup for Microsoft 365 REST API, versions v1 to v8.

A standalone WSGI application (Werkzeug only; nothing from the portal). Start it with
``python -m vb365_sim`` or in-process with ``serve_in_thread()``; see ``vb365_sim/README.md``.
"""

from __future__ import annotations

from vb365_sim.app import SimulatorApp
from vb365_sim.server import serve_in_thread
from vb365_sim.state import SimClock, SimConfig

__all__ = ["SimClock", "SimConfig", "SimulatorApp", "serve_in_thread"]
