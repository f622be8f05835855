"""What every benchmark shares: a fresh database, repeat-and-median timing, peak memory, JSON output.

A benchmark is a script, not a test: `python benchmarks/NAME.py [--rows N] [--db sqlite|postgresql]`
prints one JSON object on stdout. PostgreSQL runs use a scratch database on the server at
MUTUALAID_BENCH_PG_URL (default: postgres on 127.0.0.1:5432, trust auth), created and dropped here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table
from core.db import make_engine

PG_ADMIN_URL = os.environ.get("MUTUALAID_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def parse_args(description: str, default_rows: int, **extra: tuple[type, Any, str]) -> argparse.Namespace:
    """The common flags (--rows, --db) plus extra ones given as name=(type, default, help)."""
    parser = argparse.ArgumentParser(description=description)
    rows_help = f"how many rows (default {default_rows:,})" if default_rows else "how many rows (default: see above)"
    parser.add_argument("--rows", type=int, default=default_rows, help=rows_help)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database (default sqlite)")
    for name, (kind, default, text_) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text_)
    return parser.parse_args()


@contextmanager
def fresh_database(kind: str) -> Iterator[Engine]:
    """An engine on a new, empty database with the schema (create_all), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mutualaid-bench-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                SQLModel.metadata.create_all(engine)
                yield engine
            finally:
                engine.dispose()
        return
    name = f"mutualaid_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        SQLModel.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_seconds(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Run fn `repeat` times; the median wall-clock seconds and every run's seconds."""
    runs = [timed(fn)[0] for _ in range(repeat)]
    return statistics.median(runs), runs


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def per_second(count: int, seconds: float) -> float:
    """count / seconds, rounded for reading."""
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def environment() -> dict[str, str]:
    """Where the figures were taken."""
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": str(os.cpu_count())}


def emit(result: dict[str, Any]) -> None:
    """Print the one JSON object a benchmark reports."""
    print(json.dumps(result, ensure_ascii=False))


def database_url(engine: Engine) -> str:
    """The engine's URL with its password, for a server process to open the same database."""
    return engine.url.render_as_string(hide_password=False)


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """Latencies given in seconds as count, p50, p95, p99, max and mean in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {
        "n": len(ms),
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "max": round(ms[-1], 2),
        "mean": round(statistics.fmean(ms), 2),
    }
