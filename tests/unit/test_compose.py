"""compose.yaml is consistent with the image, the entry point and deploy/secrets.sh.

``docker compose config`` validates it where the Compose plugin is installed; everywhere
else (this machine has the Docker client only) these checks parse it with PyYAML:

    services      the stack's services, each with an image; the Tracemark ones built here
    secrets       every secret a service names is declared, each declared one is a file
                  deploy/secrets.sh creates (run in a copy), and nothing else is created
    env           every TRACEMARK_* variable is a setting the code reads; every variable
                  naming a secret file is a *_FILE that deploy/entrypoint.sh turns into its
                  variable, and the service mounts that secret
    roles         the replicas and the checkpointer connect as the service role with its
                  password; only init connects as the schema's owner
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"postgres", "redis", "init", "api-1", "api-2", "proxy", "checkpointer"}
TRACEMARK = {"init", "api-1", "api-2", "checkpointer"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def test_docker_compose_config_when_available() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker client")
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode:
        pytest.skip("docker has no Compose plugin (the checks below parse compose.yaml)")
    found = subprocess.run(
        ["docker", "compose", "config", "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("image"), name
    for name in TRACEMARK:
        assert services[name]["image"] == "tracemark:local"
        assert services[name]["build"] == "."


def test_secrets_are_the_files_secrets_sh_creates(compose: dict[str, Any], tmp_path: Path) -> None:
    declared = compose["secrets"]
    used = {s for service in compose["services"].values() for s in service.get("secrets", [])}
    assert used == set(declared)
    shutil.copy(REPO / "deploy" / "secrets.sh", tmp_path / "secrets.sh")
    (tmp_path / "secrets").mkdir()
    subprocess.run(["bash", str(tmp_path / "secrets.sh")], check=True, capture_output=True)
    created = {p.name for p in (tmp_path / "secrets").iterdir()}
    assert {Path(d["file"]).name for d in declared.values()} == created
    for name, declared_secret in declared.items():
        assert declared_secret["file"] == f"./deploy/secrets/{name}"


def _settings_read() -> set[str]:
    names: set[str] = set()
    for path in [*(REPO / "api").rglob("*.py"), *(REPO / "ledger").rglob("*.py")]:
        names.update(re.findall(r"\"(TRACEMARK_[A-Z_]+)\"", path.read_text()))
    return names


def test_environment_names(compose: dict[str, Any]) -> None:
    entrypoint = (REPO / "deploy" / "entrypoint.sh").read_text()
    loop = re.search(r"^for name in (.+); do$", entrypoint, re.MULTILINE)
    assert loop is not None
    from_files = set(loop.group(1).split())
    known = _settings_read()
    for name in TRACEMARK:
        service = compose["services"][name]
        env = service["environment"]
        for var, value in env.items():
            if str(value).startswith("/run/secrets/"):
                assert var.endswith("_FILE"), (name, var)
                assert var.removesuffix("_FILE") in from_files, (name, var)
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in service["secrets"], (name, var)
            elif var.startswith("TRACEMARK_"):
                assert var in known or var == "TRACEMARK_ORIGIN", (name, var)
    for var in from_files - {"PGPASSWORD"}:
        assert var in known, var


def test_roles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    for name in ("api-1", "api-2", "checkpointer"):
        env = services[name]["environment"]
        assert env["TRACEMARK_DATABASE_URL"].startswith("postgresql://tracemark_service@")
        assert env["PGPASSWORD_FILE"] == "/run/secrets/service_password"
        assert "postgres_password" not in services[name]["secrets"]
    init = services["init"]
    assert init["environment"]["TRACEMARK_DATABASE_URL"].startswith(f"postgresql://{owner}@")
    assert init["environment"]["PGPASSWORD_FILE"] == "/run/secrets/postgres_password"
    script = " ".join(init["command"])
    assert "tracemark db roles --service-role tracemark_service" in script
    assert "--password-file /run/secrets/service_password" in script


def test_the_replicas_share_their_rate_limits(compose: dict[str, Any]) -> None:
    """Two replicas with memory:// limits would each allow the full rate (issue 14)."""
    services = compose["services"]
    for name in ("api-1", "api-2"):
        env = services[name]["environment"]
        assert env["TRACEMARK_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0", name
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in services["redis"]
