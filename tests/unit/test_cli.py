"""The tracemark CLI: every command, its JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperOption
from typer.testing import CliRunner

from api.cli import app
from ledger.log.checkpoint import Checkpoint

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACEMARK_HOME", str(tmp_path / "tm"))
    monkeypatch.delenv("TRACEMARK_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACEMARK_KEY_FILE", raising=False)
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", "test passphrase")  # TEST ONLY
    return tmp_path / "tm"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_then_every_log_command(home: Path) -> None:
    code, out, _ = run("init", "--origin", "example.vn/log", "--json")
    assert code == 0, out
    info = json.loads(out)
    assert info["key_id"] and "ENCRYPTED" in (home / "operator.key").read_text()
    assert run("notice", "Policy v1", "--text", "hello")[0] == 0
    for i in range(5):
        assert run("notice", f"n{i}")[0] == 0
    code, out, _ = run("log", "checkpoint")
    body = out[: out.index("\n\n") + 1]
    assert Checkpoint.from_text(body).tree_size == 7
    assert out.endswith("\n") and "\n— example.vn/log " in out  # byte-exact signed note
    code, out, _ = run("log", "show", "1", "--json")
    shown = json.loads(out)
    assert (code, shown["type"], shown["body"]["title"]) == (0, "log.notice", "Policy v1")
    code, out, _ = run("log", "prove", "3", "--json")
    assert code == 0 and json.loads(out)["tree_size"] == 7
    code, out, _ = run("log", "prove", "3", "--size", "4", "--json")
    assert code == 0 and json.loads(out)["tree_size"] == 4
    code, out, _ = run("log", "consistency", "2", "7", "--json")
    assert code == 0 and json.loads(out)["consistency_path"]
    code, out, _ = run("audit", "--json")
    report = json.loads(out)
    assert (code, report["ok"], report["entries_checked"]) == (0, True, 7)


def test_errors_are_one_line_with_documented_exit_codes(home: Path) -> None:
    code, _, err = run("log", "show", "0")
    assert code == 2 and err.startswith("tracemark: error:") and err.count("\n") == 1
    assert run("init")[0] == 0
    code, _, err = run("init")
    assert code == 4 and "already initialized" in err
    assert run("log", "show", "99")[0] == 2
    assert run("log", "prove", "0", "--size", "50")[0] == 2
    assert run("log", "consistency", "5", "2")[0] == 2
    assert run("log", "show", "-1")[0] == 2  # usage error from the argument parser
    code, _, err = run("audit", "--checkpoint", str(home / "nope.txt"))
    assert code == 2 and "cannot read checkpoint file" in err


def test_wrong_passphrase_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("init")[0] == 0
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", "wrong")
    code, _, err = run("notice", "x")
    assert code == 2 and "passphrase" in err and "Traceback" not in err


def test_audit_with_saved_checkpoint_catches_a_rewrite(home: Path, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    for i in range(4):
        run("notice", f"n{i}")
    saved = tmp_path / "cp.txt"
    saved.write_text(run("log", "checkpoint")[1])
    assert run("audit", "--checkpoint", str(saved))[0] == 0
    # An attacker with database access drops the triggers and rewrites an entry.
    db = sqlite3.connect(home / "tracemark.db")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    data = db.execute("SELECT data FROM log_entries WHERE idx = 2").fetchone()[0]
    db.execute("UPDATE log_entries SET data = ? WHERE idx = 2", (data.replace(b"n1", b"n9"),))
    db.commit()
    db.close()
    code, out, _ = run("audit", "--json", "--checkpoint", str(saved))
    report = json.loads(out)
    assert code == 3 and report["first_bad_index"] == 2


def test_database_refuses_update_through_sqlite(home: Path) -> None:
    assert run("init")[0] == 0
    db = sqlite3.connect(home / "tracemark.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE log_entries SET signer = 'x'")
    db.close()


def _walk(command: Any, path: list[str]) -> list[list[str]]:
    """Every command and group of the app, found from the app itself (nothing to forget)."""
    found = [path]
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            found.extend(_walk(sub, [*path, name]))
    return found


COMMANDS = _walk(typer.main.get_command(app), [])
assert len(COMMANDS) > 30, COMMANDS  # the supply-chain commands are registered


def _command(path: list[str]) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tracemark")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


#: The other names of an option on its help line: ``--a, --b`` or ``--yes / --no``.
ALIASES = r"(?:(?:, | / )-{1,2}[\w-]+)*"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tracemark")
def test_no_boolean_flag_shows_a_value_placeholder(command: list[str]) -> None:
    """``--json``, ``--help``, ``--resume / --no-resume``: a flag takes no value, so its help
    line shows none (typer's rich panels printed ``--json <bool>``)."""
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    flags = ["--help"] + [
        name
        for param in _command(command).params
        if isinstance(param, TyperOption) and param.is_flag and not param.hidden
        for name in (*param.opts, *param.secondary_opts)
    ]
    for flag in flags:
        named = rf"(?<![\w-]){re.escape(flag)}(?![\w-])"
        assert re.search(named, result.stdout), f"{flag} is not in the help of {command}"
        shown = re.search(rf"{named}{ALIASES}[ \t]+(<[^>]*>|BOOL(?:EAN)?\b)", result.stdout)
        assert shown is None, f"{' '.join(command)}: {flag} shows {shown.group(1)!r}"
    options = [
        param for param in _command(command).params
        if isinstance(param, TyperOption) and not param.is_flag and not param.hidden
    ]  # fmt: skip
    for param in options:  # the check can see a placeholder: options with a value show one
        assert re.search(rf"{re.escape(param.opts[0])}{ALIASES}[ \t]+\S", result.stdout), param.opts


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"tracemark {version('tracemark')}\n"


def test_cli_docs_mention_every_command() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for command in COMMANDS[1:]:
        assert f"tracemark {' '.join(command)}" in doc, command


def test_demo_log_runs_twice(home: Path) -> None:
    code, out, _ = run("demo-log")
    assert code == 0 and "audit passed" in out
    code, out, _ = run("demo-log")
    assert code == 0 and "tree 4 -> 7" in out


def _command_names(help_text: str) -> list[str]:
    section = help_text[help_text.index("\nCommands:\n") :]
    return re.findall(r"^  (\S+)  ", section, re.M)


def test_python_m_api_cli_has_every_command_of_the_console_script(tmp_path: Path) -> None:
    """``python -m api.cli`` runs the module as ``__main__``; it must still show (and run)
    the commands other modules register, exactly as the ``tracemark`` script does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEMARK_")}
    env |= {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    script = Path(sys.executable).with_name("tracemark")
    found = []
    for command in ([str(script)], [sys.executable, "-m", "api.cli"]):
        result = subprocess.run(
            [*command, "--help"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        found.append(_command_names(result.stdout))
    expected = [c.name for c in typer.main.get_command(app).commands.values()]  # type: ignore[attr-defined]
    assert found[0] == found[1]
    assert sorted(found[1]) == sorted(expected)
    assert {"event", "listing", "codes", "platform", "scan"} <= set(found[1])
