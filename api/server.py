"""Run the app under uvicorn: pick the port, show index-build progress, print the URL."""
from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from assistant.errors import ConfigError
from assistant.settings import Settings

log = logging.getLogger(__name__)


def _free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return True


def pick_port(host: str, port: int, explicit: bool) -> int:
    """The configured port; if it is busy and was not asked for explicitly, a free one."""
    if port and _free(host, port):
        return port
    if port and explicit:
        raise ConfigError(f"port {port} on {host} is already in use; choose another with --port or PA_PORT "
                          "(or leave it unset to take a free port)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    return f"http://{shown}:{port}"


# longer than the 5 s idle timeout of common HTTP clients (httpx, requests' pools): with uvicorn's default
# of 5 s the server and a client close an idle connection at the same moment, and a request sent on it
# fails with a read error (seen as 3-4 errors per 3,000 requests under 50 clients)
KEEP_ALIVE = 15


@contextmanager
def metrics_directory():
    """PROMETHEUS_MULTIPROC_DIR for the workers (inherited by the processes uvicorn spawns): the operator's
    directory, emptied of an earlier run's files, or a temporary one removed afterwards."""
    from api.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="pa-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if not given:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(path, ignore_errors=True)


def run(settings: Settings, *, host: str, port: int, port_explicit: bool, workers: int = 1,
        progress=None, log_level: str = "info") -> None:
    from api.app import create_app

    port = pick_port(host, port, port_explicit)
    url = url_for(host, port)
    print(f"政策助手 starting at {url}/ui  (API docs: {url}/docs, readiness: {url}/readyz)", file=sys.stderr, flush=True)
    if workers > 1:
        # each worker process loads the index; build it once, here, before they start
        from assistant.core import Assistant

        Assistant.build(settings, progress=progress)
        with metrics_directory():
            uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                        log_level=log_level, timeout_graceful_shutdown=10, timeout_keep_alive=KEEP_ALIVE)
        return
    app = create_app(settings, progress=progress, refresh=True, load_now=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10,
                timeout_keep_alive=KEEP_ALIVE)
