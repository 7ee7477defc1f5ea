"""Settings for benchmark processes: the product's settings, with collected static files kept under
bench/results/ (gitignored) instead of the tree's STATIC_ROOT, so a benchmark run never writes outside bench/.

Nothing else differs from `portal.settings`: every figure is taken with the product's own configuration.
"""
from __future__ import annotations

import os
from pathlib import Path

from portal.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", Path(__file__).resolve().parent / "results" / "staticfiles"))
