"""Helpers of the end-to-end tests: ``tracemark`` as real processes on 127.0.0.1.

Servers run in their own process group (uvicorn's workers stop with it) and write their
stderr to a file, so a chatty server can never block on a full pipe and a failed start
shows its last lines. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CLI_TIMEOUT_S",
    "HTTP_TIMEOUT_S",
    "ROOT",
    "START_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "TRACEMARK",
    "environment",
    "free_port",
    "http_get",
    "http_post",
    "kill",
    "launch_server",
    "run_cli",
    "stop",
    "tail",
    "wait_ready",
]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 120.0
HTTP_TIMEOUT_S = 30.0
#: The CLI as installed or not (``python -m api.cli`` would miss the commands that register
#: themselves on ``api.cli.app`` from other modules).
TRACEMARK = [sys.executable, "-c", "from api.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any TRACEMARK_* setting, plus ``settings``: the
    test decides every setting, whatever the developer's shell exports."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TRACEMARK_") and key != "PYTHONPATH"
    }
    # this checkout's code and its Python client (clients/python), whatever is installed
    path = os.pathsep.join([str(ROOT), str(ROOT / "clients" / "python")])
    return {**env, "PYTHONPATH": path, **settings}


def run_cli(env: Mapping[str, str], *args: str) -> Any:
    """Run ``tracemark ARGS --json``, assert it succeeded and return its JSON output."""
    done = subprocess.run(
        [*TRACEMARK, *args, "--json"],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"tracemark {' '.join(args)}: {done.stderr.decode()}"
    return json.loads(done.stdout)


def launch_server(
    env: Mapping[str, str], port: int, *, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``tracemark serve`` on 127.0.0.1:PORT (not yet ready: see ``wait_ready``)."""
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*TRACEMARK, *command],
            cwd=ROOT,
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,  # its own process group: the workers stop with it
        )


def tail(log: Path, lines: int = 15) -> str:
    """The last lines of a process's log, for assertion messages."""
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Wait until ``GET url/healthz`` answers 200; fail if the process exits first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = f":\n{tail(log)}" if log is not None else ""
            raise AssertionError(f"the server exited early with {process.returncode}{detail}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer /healthz within {START_TIMEOUT_S} s")


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process group, then SIGKILL if it does not stop in time."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
            raise AssertionError("the process did not stop on SIGTERM") from None
    return int(process.returncode)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group at once (a crash: nothing gets to clean up)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
        return bytes(response.read())


def http_post(url: str, payload: Any) -> Any:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
        return json.loads(response.read())
