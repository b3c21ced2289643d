"""Generate ledger/codes/gs1_ais.py (plain data) from the GS1 Barcode Syntax Dictionary.

    .venv/bin/python scripts/gen_gs1_ais.py [DICTIONARY] [--output PATH] [--check]

DICTIONARY defaults to ../shared/conformance/digital-link/gs1-syntax-dictionary.txt (beside
the repository). ``--check`` writes nothing and exits 1 when the committed module differs from
what the dictionary generates. The script does I/O; the module it writes is only data.

Each dictionary entry (``AIs [Flags] Specification [Attributes...] [# Title]``) becomes one
row per AI (ranges such as ``3100-3105`` are expanded), the fields kept as the dictionary
spells them, so the module stays a readable copy of it::

    "01": ("*?", "N14,csum,gcppos2", "22,10,21|235", "GTIN")
           flags  specification       dlpkey          title

``dlpkey`` is None when the AI is not a Digital Link primary key and "" when it is one without
qualifiers. The association rules (``req=``, ``ex=``) are left out: Tracemark does not use them.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DICTIONARY = (
    REPO.parent / "shared" / "conformance" / "digital-link" / "gs1-syntax-dictionary.txt"
)
DEFAULT_OUTPUT = REPO / "ledger" / "codes" / "gs1_ais.py"

_COMPONENT = re.compile(r"^\[?[NXYZ](?:\d+|\.\.\d+)\]?(?:,[a-z0-9]+)*$")
_AIS = re.compile(r"^(\d{2,4})(?:-(\d{2,4}))?$")
_RELEASE = re.compile(r"^#\s*Release:\s*(\S+)")
_FLAGS = frozenset("*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~")
LINE_LENGTH = 100

Row = tuple[str, str, str | None, str]


def parse_line(line: str) -> tuple[list[str], Row]:
    body, _, title = line.partition("#")
    tokens = body.split()
    match = _AIS.match(tokens[0])
    if match is None:
        raise ValueError(f"bad AI field in line: {line!r}")
    first, last = match.group(1), match.group(2) or match.group(1)
    if len(first) != len(last) or int(last) < int(first):
        raise ValueError(f"bad AI range in line: {line!r}")
    ais = [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]
    rest = tokens[1:]
    flags = ""
    if rest and set(rest[0]) <= _FLAGS and not rest[0].startswith("["):
        flags, rest = rest[0], rest[1:]
    components: list[str] = []
    dlpkey: str | None = None
    for part in rest:
        if _COMPONENT.match(part):
            if dlpkey is not None:
                raise ValueError(f"component after attributes in line: {line!r}")
            components.append(part)
        elif part == "dlpkey":
            dlpkey = ""
        elif part.startswith("dlpkey="):
            dlpkey = part[len("dlpkey=") :]
        elif not part.startswith(("req=", "ex=")):
            raise ValueError(f"unknown field {part!r} in line: {line!r}")
    if not components:
        raise ValueError(f"no specification in line: {line!r}")
    return ais, (flags, " ".join(components), dlpkey, title.strip())


def parse_dictionary(text: str) -> tuple[str, dict[str, Row]]:
    release = ""
    rows: dict[str, Row] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            found = _RELEASE.match(line)
            if found and not release:
                release = found.group(1)
            continue
        ais, row = parse_line(line)
        for ai in ais:
            if ai in rows:
                raise ValueError(f"AI {ai} defined twice")
            rows[ai] = row
    if not release:
        raise ValueError("no 'Release:' line in the dictionary")
    return release, rows


def literal(value: str | None) -> str:
    """A Python literal, double-quoted as ruff format writes it."""
    if value is None:
        return "None"
    if '"' in value or "\\" in value or not value.isprintable():
        raise ValueError(f"unexpected character in {value!r}")
    return f'"{value}"'


def render_row(ai: str, row: Row) -> str:
    """One row, on one line when it fits, else exploded the way ruff format does it."""
    fields = [literal(field) for field in row]
    line = f"    {literal(ai)}: ({', '.join(fields)}),\n"
    if len(line) - 1 <= LINE_LENGTH:
        return line
    inner = "".join(f"        {field},\n" for field in fields)
    return f"    {literal(ai)}: (\n{inner}    ),\n"


HEADER = '''\
"""GS1 Application Identifiers, generated from the GS1 Barcode Syntax Dictionary. Pure data.

DO NOT EDIT: regenerate with ``scripts/gen_gs1_ais.py``. Source: gs1/gs1-syntax-engine
``src/c-lib/gs1-syntax-dictionary.txt``, release {release} (Apache-2.0; (c) BWIPP, Zint and
GS1 AISBL). One row per AI, spelled as in the dictionary::

    "01": ("*?", "N14,csum,gcppos2", "22,10,21|235", "GTIN")
           flags  specification       dlpkey          title

flags          "*": pre-defined length, no FNC1 separator after the value;
               "?": permitted as a GS1 Digital Link query data attribute
specification  space-separated components ``[`` cset length ``]`` ``,linter...``; cset N
               numeric, X CSET 82, Y CSET 39, Z base64url; length ``14`` or ``..20``
               (1 to 20); brackets mark an optional component
dlpkey         None: not a Digital Link primary key; else its alternative ordered
               qualifier lists separated by "|" ("" = no qualifiers)
title          the dictionary's title

The association rules (``req=``, ``ex=``) are not included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["AIS", "DICTIONARY_RELEASE"]

DICTIONARY_RELEASE: Final = "{release}"

AIS: Final[Mapping[str, tuple[str, str, str | None, str]]] = {{
'''


def render(release: str, rows: dict[str, Row]) -> str:
    body = "".join(render_row(ai, rows[ai]) for ai in sorted(rows))
    return HEADER.format(release=release) + body + "}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dictionary", nargs="?", type=Path, default=DEFAULT_DICTIONARY)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    release, rows = parse_dictionary(args.dictionary.read_text(encoding="utf-8"))
    text = render(release, rows)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/gen_gs1_ais.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} AIs (release {release}) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
