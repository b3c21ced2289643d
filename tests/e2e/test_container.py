"""The container image, built from the Dockerfile and run (marked ``container``).

    builds        scripts/image.sh builds the image with buildah on a Debian bookworm base
                  made by debootstrap (no registry, no Docker daemon; cached layers make a
                  rebuild quick)
    non-root      the image runs as tracemark (uid 10001), not root
    version       ``tracemark --version`` inside the image
    entrypoint    the entry point turns *_FILE secrets into variables, and stops (exit 2)
                  on an unreadable one
    config        user, entry point, command, port and the health check on /healthz
    serves        ``tracemark init`` then ``tracemark serve`` inside the image: /healthz
                  answers and a verify of a code gets a verdict

Runs the image with ``buildah run --isolation chroot --network host`` (``podman run`` needs
cgroups this machine lacks). Skipped, with the reason, without podman and buildah, or when
not root (the chroot isolation needs it). ``make test-container`` runs it; ``make test``
does not (the first build takes minutes).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.container, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("TRACEMARK_IMAGE", "tracemark:local")
BUILDAH_RUN = ("buildah", "run", "--isolation", "chroot", "--network", "host")


def _unavailable() -> str | None:
    missing = [tool for tool in ("podman", "buildah") if shutil.which(tool) is None]
    if missing:
        return f"needs {' and '.join(missing)} (make test-container installs them)"
    if os.geteuid() != 0:
        return "buildah run --isolation chroot needs root here"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    built = subprocess.run(
        ["bash", "scripts/image.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    name = subprocess.run(
        ["buildah", "from", IMAGE], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def run(container: str, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUILDAH_RUN, container, "--", "sh", "-c", script],
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
    )


def test_runs_as_non_root(container: str) -> None:
    found = run(container, "id -u; id -un; echo $HOME")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["10001", "tracemark", "/var/lib/tracemark"]


def test_version(container: str) -> None:
    found = run(container, "tracemark --version")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "tracemark 0.1.0"


def test_entrypoint_reads_secret_files(container: str) -> None:
    script = (
        "printf salt-from-file > /tmp/salt; "
        "TRACEMARK_SCAN_SALT_FILE=/tmp/salt tracemark-entrypoint "
        "sh -c 'echo $TRACEMARK_SCAN_SALT ${TRACEMARK_SCAN_SALT_FILE:-unset}'; "
        "TRACEMARK_SECRETS_KEY_FILE=/nonexistent tracemark-entrypoint true"
    )
    found = run(container, script)
    assert found.stdout.split() == ["salt-from-file", "unset"]
    assert found.returncode == 2  # the unreadable secret file stops it
    assert "TRACEMARK_SECRETS_KEY_FILE: cannot read /nonexistent" in found.stderr


def test_image_config(container: str) -> None:
    found = subprocess.run(
        ["podman", "image", "inspect", IMAGE], capture_output=True, text=True, check=True
    )
    [image] = json.loads(found.stdout)
    config = image["Config"]
    assert config["User"] == "tracemark"
    assert config["Entrypoint"] == ["tracemark-entrypoint"]
    assert config["Cmd"][:2] == ["tracemark", "serve"]
    assert "8000/tcp" in config["ExposedPorts"]
    # Kept because the image is built in docker format (OCI has no health check).
    assert "/healthz" in " ".join(image["Healthcheck"]["Test"])


def test_serves_healthz_and_verify(container: str) -> None:
    port = _free_port()
    code = "https://tracemark.localhost/01/09506000134352/21/SERIAL-1"
    probe = (
        "import json, sys, time, urllib.request\n"
        f"base = 'http://127.0.0.1:{port}'\n"
        "for _ in range(150):\n"
        "    try:\n"
        "        health = urllib.request.urlopen(base + '/healthz', timeout=2).status\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.2)\n"
        "else:\n"
        "    sys.exit('no /healthz within 30 s')\n"
        f"body = json.dumps({{'code': {code!r}}}).encode()\n"
        "request = urllib.request.Request(base + '/v1/verify', data=body,\n"
        "    headers={'Content-Type': 'application/json'}, method='POST')\n"
        "answer = json.load(urllib.request.urlopen(request, timeout=10))\n"
        "print(json.dumps({'health': health, 'status': answer['status']}))\n"
    )
    script = (
        "set -e; export TRACEMARK_HOME=/tmp/tm; "
        "tracemark init --origin container.test/log >/dev/null 2>&1; "
        f"tracemark serve --port {port} >/tmp/serve.log 2>&1 & server=$!; "
        f"python -c {shlex.quote(probe)} || {{ cat /tmp/serve.log; exit 1; }}; "
        "kill $server; wait $server || true"
    )
    found = run(container, script)
    assert found.returncode == 0, found.stdout + found.stderr
    result = json.loads(found.stdout.strip().splitlines()[-1])
    assert result["health"] == 200
    assert result["status"] in {"counterfeit", "invalid", "unverified"}  # a verdict, not an error
