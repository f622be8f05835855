"""`mutualaid serve --workers 2`: each worker on its own SO_REUSEPORT socket, all serving, all stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.settings import PROJECT_ROOT, Settings

ROOT = PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> set[int]:
    """The live child processes of pid (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_two_workers_serve_new_connections_and_stop_with_their_supervisor(app_settings: Settings) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mutualaid.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.2)
        workers = {p for p in children_of(process.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()}
        assert len(workers) == 2
        # every new connection is answered, whichever worker the kernel gives it to
        codes = [httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code for _ in range(20)]
        assert codes == [200] * 20
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{p}").exists() for p in workers)  # joined by the supervisor before it exits
    finally:
        if process.poll() is None:
            process.kill()
