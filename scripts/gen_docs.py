"""Generate the reference sections of docs/api.md and docs/cli.md from the code.

    .venv/bin/python scripts/gen_docs.py            # rewrite the generated sections
    .venv/bin/python scripts/gen_docs.py --check    # exit 1, one line, when they are stale

The prose of both documents is written by hand; only the text between the marker comments
``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->`` is ours (appended at
the end of the document when the markers are absent). The API reference comes from the app's
own OpenAPI schema and the CLI reference from typer's click objects (parameters, not the rich
help screen), so the output depends neither on a terminal's width nor on a database or key:
tests/unit/test_generated_docs.py fails when a route or an option changes without a rerun.
"""

from __future__ import annotations

import argparse
import difflib
import html
import re
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperArgument, TyperGroup, TyperOption

from ledger import errors

REPO = Path(__file__).resolve().parents[1]
REGENERATE = "`.venv/bin/python scripts/gen_docs.py` (or `make docs`)"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _cell(text: object) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """Help text as Markdown prose: ``<base64>`` must show, not vanish as an HTML tag."""
    return html.escape(" ".join(text.split()), quote=False)


def _note(source: str) -> str:
    return (
        f"_This section is generated from {source} by `scripts/gen_docs.py`; do not edit it "
        f"by hand. Regenerate it with {REGENERATE}._"
    )


# --- the HTTP API (OpenAPI) ---------------------------------------------------------------


def _request_body(operation: dict[str, Any]) -> str:
    """The request body's schema name (or type) per media type, e.g. ``VerifyRequest``."""
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    by_schema: dict[str, list[str]] = {}
    for media_type, media in content.items():
        schema = media.get("schema", {})
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
        else:
            name = "/".join(str(schema[k]) for k in ("type", "format") if k in schema) or "any"
        by_schema.setdefault(name, []).append(media_type)
    return ", ".join(f"`{name}` ({', '.join(types)})" for name, types in by_schema.items())


def render_openapi(schema: dict[str, Any]) -> str:
    """A table per tag (alphabetical) of every operation, ordered by path then method."""
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                for tag in operation.get("tags") or ["untagged"]:
                    by_tag.setdefault(tag, []).append((path, method, operation))
    lines = ["## Reference", "", _note("the app's OpenAPI schema (`/openapi.json`)")]
    for tag in sorted(by_tag):
        lines += ["", f"### `{tag}`", ""]
        lines += [
            "| method | path | operation id | summary | responses | request body |",
            "|---|---|---|---|---|---|",
        ]
        rows = sorted(by_tag[tag], key=lambda row: (row[0], HTTP_METHODS.index(row[1])))
        for path, method, operation in rows:
            statuses = sorted(operation.get("responses", {}), key=lambda s: (not s.isdigit(), s))
            cells = (
                method.upper(),
                f"`{path}`",
                f"`{operation['operationId']}`" if "operationId" in operation else "",
                _prose(operation.get("summary", "")),
                ", ".join(statuses),
                _request_body(operation),
            )
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def openapi_schema() -> dict[str, Any]:
    """The schema of an app over an empty in-memory store: no key, database or network."""
    from api.http.app import create_app  # noqa: PLC0415 - only the generator needs the app
    from api.settings import Settings  # noqa: PLC0415
    from ledger.storage.memory.log import MemoryStore  # noqa: PLC0415
    from ledger.usecases.service import LogService  # noqa: PLC0415

    nowhere = Path("/nonexistent")
    settings = Settings(home=nowhere, key_file=nowhere / "operator.key")
    return create_app(settings, service=LogService(MemoryStore())).openapi()


# --- the command line (typer's click objects) ---------------------------------------------


def _walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[click.Command, Any]]:
    """Every visible command under ``command`` (itself first), subcommands alphabetically."""
    yield command, ctx
    if isinstance(command, TyperGroup):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx))


def _flag_default(param: TyperOption, value: bool) -> str:
    """A ``--yes/--no`` pair names the side chosen; a lone flag that is off shows nothing."""
    if param.secondary_opts:
        return f"`{(param.opts if value else param.secondary_opts)[0]}`"
    return "`true`" if value else ""


def _default(param: TyperOption | TyperArgument, ctx: click.Context) -> str:
    """The default as the help screen shows it (typer's rules), ``required`` or empty."""
    if param.required:
        return "required"
    if isinstance(param.show_default, str):
        return param.show_default
    value = param.get_default(ctx, call=False)
    if value is None or not (param.show_default or ctx.show_default):
        return ""
    if isinstance(param, TyperOption) and param.is_bool_flag:
        return _flag_default(param, bool(value))
    if callable(value):
        return "(dynamic)"
    values = value if isinstance(value, list | tuple) else [value]
    shown = [str(v.value if isinstance(v, Enum) else v) for v in values]
    return ", ".join(f"`{v}`" for v in shown)


def _param_row(param: TyperOption | TyperArgument, ctx: click.Context) -> str:
    if isinstance(param, TyperOption):
        name = " / ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        kind = "flag" if param.is_flag else param.display_type_rich(ctx) or ""
    else:
        dots = "..." if param.nargs != 1 else ""
        name = f"`{param.metavar or (param.name or '').upper()}{dots}`"
        kind = param.display_type_rich(ctx) or ""
    help_text = _prose(param.help or "")
    if param.envvar and param.show_envvar:
        envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        help_text += " Env: " + ", ".join(f"`{v}`" for v in envvars) + "."
    cells = (name, f"`{kind}`" if kind else "", _default(param, ctx), help_text.strip())
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_cli(command: click.Command, name: str = "tracemark") -> str:
    """Usage, help and a parameter table for ``command`` and every command under it."""
    lines = ["## Reference", "", _note("the `tracemark` command's parameters")]
    lines += ["", "Every command also takes `--help`."]
    for cmd, ctx in _walk(command, click.Context(command, info_name=name)):
        usage = " ".join([ctx.command_path, *cmd.collect_usage_pieces(ctx)])
        lines += ["", f"### {ctx.command_path}", "", f"`{usage}`"]
        paragraphs = [_prose(p) for p in re.split(r"\n\s*\n", cmd.help or "")]
        lines += [line for p in paragraphs if p for line in ("", p)]
        params = [
            p for p in cmd.params if isinstance(p, TyperOption | TyperArgument) and not p.hidden
        ]
        if params:
            lines += ["", "| parameter | type | default | help |", "|---|---|---|---|"]
            lines += [_param_row(p, ctx) for p in params]
    return "\n".join(lines)


def cli_command() -> click.Command:
    """The ``tracemark`` command with every subcommand module registered."""
    import api.cli  # noqa: PLC0415 - its import registers the command modules

    return typer.main.get_command(api.cli.app)


# --- the documents ------------------------------------------------------------------------


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the generated section ``name`` set to ``body`` (appended when absent)."""
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    section = f"{begin}\n{body}\n{end}\n"
    starts, ends = text.count(begin), text.count(end)
    if (starts, ends) == (0, 0):
        return text.rstrip("\n") + "\n\n" + section
    if (starts, ends) != (1, 1) or text.index(begin) > text.index(end):
        raise errors.InvalidInput(f"expected one {begin} followed by one {end}")
    head, rest = text.split(begin)
    tail = rest.split(end)[1].lstrip("\n")
    return head + section + (f"\n{tail}" if tail else "")


def _changes(old: str, new: str) -> str:
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm=""))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    return f"+{added} -{removed} lines"


def update(root: Path, *, check: bool) -> list[str]:
    """Regenerate the sections under ``root`` (or only compare, with ``check``).

    Returns one summary per document that was (or, with ``check``, would be) rewritten.
    """
    sections = {
        Path("docs/api.md"): ("openapi", render_openapi(openapi_schema())),
        Path("docs/cli.md"): ("cli", render_cli(cli_command())),
    }
    changed = []
    for relative, (name, body) in sections.items():
        path = root / relative
        old = path.read_text(encoding="utf-8")
        new = replace_section(old, name, body)
        if new != old:
            changed.append(f"{relative} ({_changes(old, new)})")
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        changed = update(REPO, check=args.check)
    except errors.TracemarkError as exc:
        print(f"gen_docs: error: {exc.message}", file=sys.stderr)
        return 2
    if args.check and changed:
        print(f"stale: {'; '.join(changed)}: run scripts/gen_docs.py", file=sys.stderr)
        return 1
    print(f"rewrote {'; '.join(changed)}" if changed else "docs are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
