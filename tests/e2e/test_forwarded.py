"""``X-Forwarded-For`` on a real ``tracemark serve``: believed only from a trusted proxy.

uvicorn trusts the header from 127.0.0.1 by default; the service used to run it that way,
so any local client (or anything a local proxy passed through) could pick the address the
rate limiter keys on. Now ``TRACEMARK_TRUSTED_PROXIES`` (none by default) decides.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.serving import (
    CLI_TIMEOUT_S,
    HTTP_TIMEOUT_S,
    ROOT,
    TRACEMARK,
    environment,
    free_port,
    launch_server,
    stop,
    wait_ready,
)

pytestmark = [pytest.mark.e2e]

LIMIT = 4


def statuses(url: str, forwarded: list[str]) -> list[int]:
    found = []
    for value in forwarded:
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            url + "/v1/log/checkpoint", headers={"X-Forwarded-For": value}
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                found.append(response.status)
        except urllib.error.HTTPError as exc:
            found.append(exc.code)
    return found


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_a_spoofed_forwarded_for_does_not_escape_the_rate_limit(
    tmp_path: Path, trusted: str
) -> None:
    home = tmp_path / "home"
    env = environment(
        {
            "TRACEMARK_HOME": str(home),
            "TRACEMARK_RATE_LIMIT": str(LIMIT),
            "TRACEMARK_TRUSTED_PROXIES": trusted,
        }
    )
    subprocess.run(
        [*TRACEMARK, "init", "--home", str(home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=True,
    )
    port = free_port()
    process = launch_server(env, port, workers=1, log=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, tmp_path / "server.log")  # /healthz may spend tokens too
        spoofed = statuses(url, [f"198.51.100.{n}" for n in range(LIMIT + 2)])
    finally:
        stop(process)
    if trusted:  # the proxy (here: loopback) is believed: each address has its own bucket
        assert spoofed == [200] * (LIMIT + 2)
    else:  # one client, whatever it writes: the limit holds
        assert 429 in spoofed and spoofed[-1] == 429
