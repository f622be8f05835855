"""Serving the API: uvicorn on uvloop and the httptools parser, in one process or several.

Several workers each listen on a socket of their own with SO_REUSEPORT, so that the kernel spreads new
connections over them evenly. (uvicorn's own --workers shares one socket: whichever process wakes first takes
the connection, and a handful of long-lived keep-alive connections can all land on one worker while the
others idle.) The supervisor stops its workers when it is stopped, and stops when one of them dies.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from typing import Any

APP = "api.main:app"


def uvicorn_config(*, access_log: bool, **extra: Any) -> Any:
    """The uvicorn configuration every worker runs with."""
    import uvicorn

    return uvicorn.Config(APP, loop="uvloop", http="httptools", access_log=access_log, proxy_headers=True, **extra)


def serve(*, host: str, port: int, workers: int = 1, access_log: bool = False, reload: bool = False) -> None:
    """Serve the API on host:port until stopped."""
    import uvicorn

    if workers <= 1 or reload:
        uvicorn.Server(uvicorn_config(access_log=access_log, host=host, port=port, reload=reload)).run()
        return
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(host, port, access_log), daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(_signum: int, _frame: Any) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(process.is_alive() for process in processes):
        time.sleep(0.5)
    stop(signal.SIGTERM, None)  # a worker died: stop the rest, so that the service manager restarts us whole


def _worker(host: str, port: int, access_log: bool) -> None:
    """One worker process: its own listening socket on the shared port, and one uvicorn server on it."""
    import uvicorn

    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    uvicorn.Server(uvicorn_config(access_log=access_log)).run(sockets=[sock])
