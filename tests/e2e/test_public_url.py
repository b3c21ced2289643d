"""End to end: ``tracemark serve`` names its own port when no public URL is set, the one set
otherwise, and stops with one line when its two names disagree (docs/operations.md, The
public URL)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.serving import (
    ROOT,
    TRACEMARK,
    environment,
    free_port,
    http_get,
    launch_server,
    run_cli,
    stop,
    wait_ready,
)

pytestmark = pytest.mark.e2e


def _serve(settings: dict[str, str], tmp_path: Path) -> tuple[int, str, bytes]:
    """Init a log, serve it on a free port: (the port, what serve said, GET /v1/trust)."""
    env = environment(
        {"TRACEMARK_HOME": str(tmp_path / "home"), "TRACEMARK_RATE_LIMIT": "0", **settings}
    )
    run_cli(env, "init", "--origin", "public-url.example.test/log")
    port, log = free_port(), tmp_path / "server.log"
    process = launch_server(env, port, workers=1, log=log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        bundle = http_get(f"http://127.0.0.1:{port}/v1/trust")
    finally:
        stop(process)
    return port, log.read_text(encoding="utf-8", errors="replace"), bundle


def test_serve_without_a_public_url_names_its_own_port(tmp_path: Path) -> None:
    port, said, bundle = _serve({}, tmp_path)
    assert f"codes and pages name http://localhost:{port}" in said
    assert f'"http://localhost:{port}"'.encode() in bundle  # the trust bundle's resolvers
    assert b"localhost:8000" not in bundle


def test_serve_names_the_public_url_set(tmp_path: Path) -> None:
    public = "https://verify.example.test"
    _, said, bundle = _serve({"TRACEMARK_PUBLIC_URL": public}, tmp_path)
    assert f"codes and pages name {public}" in said
    assert f'"{public}"'.encode() in bundle and b"localhost" not in bundle


def test_serve_refuses_two_names_that_disagree(tmp_path: Path) -> None:
    env = environment(
        {
            "TRACEMARK_HOME": str(tmp_path / "home"),
            "TRACEMARK_PUBLIC_URL": "https://a.example.test",
            "TRACEMARK_RESOLVER": "https://b.example.test",
        }
    )
    done = subprocess.run(
        [*TRACEMARK, "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("tracemark: error: TRACEMARK_PUBLIC_URL (https://a.example.test)")
    assert "disagree" in done.stderr and done.stderr.count("\n") == 1
