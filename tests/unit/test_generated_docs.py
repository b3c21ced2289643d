"""The generated reference sections of docs/api.md and docs/cli.md match the code.

The generator (scripts/gen_docs.py) is loaded in process; the drift tests feed its renderers
small fakes so they show that a changed help string, route or marker is noticed.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest
import typer

from ledger import errors

REPO = Path(__file__).parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load()


def test_docs_are_current() -> None:
    stale = gen_docs.update(REPO, check=True)
    assert not stale, f"generated docs are stale ({stale}): run scripts/gen_docs.py"


def test_generated_sections_keep_the_prose() -> None:
    cli = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    api = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert cli.startswith("# The `tracemark` command line")
    assert api.startswith("# HTTP API")
    assert "\n### tracemark log prove\n" in cli.split("<!-- BEGIN GENERATED: cli -->")[1]
    assert "| POST | `/v1/entries` |" in api.split("<!-- BEGIN GENERATED: openapi -->")[1]


def _fake(help_text: str) -> Any:
    """A typer app whose ``--to`` help is ``help_text`` (a default-style option: string
    annotations cannot see this function's locals)."""
    app = typer.Typer(add_completion=False)

    @app.command()
    def ship(
        shipment: Annotated[str, typer.Argument(help="The shipment id.")],
        to: str = typer.Option("dock-1", "--to", envvar="FAKE_TO", help=help_text),
        force: Annotated[bool, typer.Option("--force/--no-force", help="Skip checks.")] = False,
    ) -> None:
        """Ship a <shipment>."""

    @app.command()
    def arrive() -> None:
        """Listed before ship: commands are sorted, not in registration order."""

    @app.command(hidden=True)
    def secret() -> None:
        """Hidden from help, so from the reference too."""

    return typer.main.get_command(app)


def test_cli_reference_follows_help_strings() -> None:
    before = gen_docs.render_cli(_fake("Where it goes."), name="fake")
    after = gen_docs.render_cli(_fake("Where it is going."), name="fake")
    assert before != after
    assert "| `--to` | `<str>` | `dock-1` | Where it goes. Env: `FAKE_TO`. |" in before
    assert "| `SHIPMENT` | `<str>` | required | The shipment id. |" in before
    assert "| `--force` / `--no-force` | `flag` | `--no-force` | Skip checks. |" in before
    assert "`fake ship [OPTIONS] {shipment}`" in before
    assert "Ship a &lt;shipment&gt;." in before  # not swallowed as an HTML tag
    assert before.index("### fake arrive") < before.index("### fake ship")
    assert "secret" not in before


def test_api_reference_follows_the_schema() -> None:
    operation = {
        "tags": ["verify"],
        "operationId": "verifyCode",
        "summary": "Verify",
        "responses": {"422": {}, "200": {}},
        "requestBody": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}
        },
    }
    schema = {"paths": {"/v1/verify": {"post": operation, "get": {"summary": "Read"}}}}
    table = gen_docs.render_openapi(schema)
    row = "| POST | `/v1/verify` | `verifyCode` | Verify | 200, 422 | `Req` (application/json) |"
    assert row in table
    assert "| GET | `/v1/verify` |  | Read |" in table  # no operation id: an empty cell
    assert "### `untagged`" in table
    operation["responses"] = {"200": {}, "404": {}}
    assert gen_docs.render_openapi(schema) != table


def test_replace_section_keeps_the_text_around_it() -> None:
    appended = gen_docs.replace_section("# Title\n\nProse.\n", "cli", "one")
    assert appended == (
        "# Title\n\nProse.\n\n<!-- BEGIN GENERATED: cli -->\none\n<!-- END GENERATED: cli -->\n"
    )
    middle = appended + "\nAfter.\n"
    assert gen_docs.replace_section(middle, "cli", "two") == middle.replace("one", "two")
    with pytest.raises(errors.InvalidInput, match="BEGIN GENERATED: cli"):
        gen_docs.replace_section("<!-- BEGIN GENERATED: cli -->\n", "cli", "two")


def test_check_reports_drift_and_a_rerun_fixes_it(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    for name in ("api.md", "cli.md"):
        shutil.copy(REPO / "docs" / name, tmp_path / "docs" / name)
    cli = tmp_path / "docs" / "cli.md"
    drifted = cli.read_text(encoding="utf-8").replace("| Print JSON for programs. |", "| x |")
    cli.write_text(drifted, encoding="utf-8")

    stale = gen_docs.update(tmp_path, check=True)
    assert len(stale) == 1 and stale[0].startswith("docs/cli.md (+")
    assert cli.read_text(encoding="utf-8") == drifted  # --check writes nothing
    assert gen_docs.update(tmp_path, check=False) == stale
    assert gen_docs.update(tmp_path, check=True) == []
