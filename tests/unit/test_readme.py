"""The README's tour runs: every command in its first shell block succeeds, in order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def tour() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A short tour") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_the_readme_tour_runs(tmp_path: Path) -> None:
    tracemark = Path(sys.executable).with_name("tracemark")
    script = "set -euo pipefail\ntm() { " + str(tracemark) + ' "$@"; }\n' + tour()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEMARK_")}
    env |= {"TRACEMARK_HOME": str(tmp_path / "home"), "TRACEMARK_RESOLVER": "https://vt.example.vn"}
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "backed by genuine stock" in result.stdout
    assert "unverified" in result.stdout and "signature_valid" in result.stdout
    assert "audit passed" in result.stdout
    assert (tmp_path / "fs1.jsonld").stat().st_size > 500
    assert len(list((tmp_path / "labels").glob("*.png"))) == 2
