"""Import rules and ``__all__``, checked by parsing the source with ``ast`` (nothing is imported).

    pure-core  the pure core modules of ledger/ (PURE_CORE_MODULES) import no I/O, database,
               web, imaging or CLI library (FORBIDDEN_IN_PURE_CORE), no ledger adapter and
               no use case or port (FORBIDDEN_IN_PURE_LEDGER); imports inside functions and
               under ``TYPE_CHECKING`` count too. Every module of the core packages
               (PURE_CORE_PACKAGES) must be listed, so a new one cannot slip past the rule.
    adapters   nothing under ledger/ but the adapters themselves (LEDGER_ADAPTERS: storage,
               key files, private files) imports an adapter: the core and the use cases reach
               storage through ledger/ports only.
    ports      ledger/ports imports no database driver (FORBIDDEN_IN_PORTS) and no use case.
    layering   nothing under ledger/ imports api or scanner; nothing under scanner/ imports api;
               the Python client (clients/python, ``tracemark_client``) imports none of them:
               a platform installs it alone. It imports the standard library and httpx only.
    __all__    every public module under ledger/ (not ``__init__.py``, not ``_private.py``)
               defines a literal ``__all__``, and every name in it is defined in the module.

Reading the clock (``datetime.now()``) cannot be told apart from using ``datetime`` for types
by looking at imports, so it is left to review.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# The modules of ledger/ that must stay pure: plain functions and frozen dataclasses, no I/O
# (see STYLE.md, "A pure core, thin adapters"). Those not written yet are skipped.
PURE_CORE_MODULES = (
    "ledger.errors",
    "ledger.log.hashing",
    "ledger.log.merkle",
    "ledger.log.canonical",
    "ledger.log.tiles",
    "ledger.log.witnessing",
    "ledger.keys",
    "ledger.log.note",
    "ledger.log.checkpoint",
    "ledger.log.entries",
    "ledger.log.audit",
    "ledger.codes.gs1",
    "ledger.codes.gs1_syntax",
    "ledger.codes.signed",
    "ledger.provenance.events",
    "ledger.verdicts",
    "ledger.verdicts.model",
    "ledger.verdicts.evidence",
    "ledger.verdicts.items",
    "ledger.verdicts.clones",
    "ledger.verdicts.attestations",
    "ledger.verdicts.compliance",
    "ledger.verdicts.listings",
    "ledger.verdicts.scans",
    "ledger.verdicts.backing",
    "ledger.verdicts.products",
    "ledger.verdicts.bundles",
    "ledger.verdicts.regulator",
    "ledger.provenance.rules.streams",
    "ledger.provenance.rules.attestations",
    "ledger.provenance.handles",
    "ledger.provenance.epcis_hash",
    "ledger.codes.epc",
    "ledger.provenance.epcis",
    "ledger.codes.gs1_ais",
    "ledger.provenance.records",
    "ledger.provenance.rules.custody",
    "ledger.provenance.rules.common",
    "ledger.provenance.rules.registry",
    "ledger.provenance.rules.listings",
    "ledger.codes.identifiers",
    "ledger.codes.trust",
    "ledger.provenance.projection",
    "ledger.log",
    "ledger.log.verify",
    "ledger.log.compact",
    "ledger.codes",
    "ledger.provenance",
    "ledger.provenance.rules",
    "ledger.provenance.events.names",
    "ledger.provenance.events.fields",
    "ledger.provenance.events.actors",
    "ledger.provenance.events.keys",
    "ledger.provenance.events.supply",
    "ledger.provenance.events.listings",
    "ledger.provenance.events.streams",
    "ledger.provenance.events.attestations",
    "ledger.secret_box",
)

# Packages whose every module is pure core (and so must be in PURE_CORE_MODULES).
PURE_CORE_PACKAGES = ("ledger.log", "ledger.provenance", "ledger.codes", "ledger.verdicts")

# Top-level modules the pure core may not import (a module and all its submodules):
# files, processes, sockets, clocks, databases, web frameworks and clients, image and code
# libraries, CLI toolkits. importlib is here because a dynamic import would bypass this check.
FORBIDDEN_IN_PURE_CORE = (
    # files, processes, network, clock
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
    "socket",
    "ssl",
    "select",
    "selectors",
    "subprocess",
    "asyncio",
    "urllib",
    "http",
    "time",
    "importlib",
    # databases
    "sqlite3",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    # web servers and clients
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    # images, codes, video
    "PIL",
    "qrcode",
    "pyzbar",
    "zxingcpp",
    "av",
    # CLI and terminal output
    "typer",
    "rich",
)

# The ledger's own adapters: storage, key files, private files. Only adapters import them.
LEDGER_ADAPTERS = ("ledger.storage", "ledger.keyfile", "ledger.files")

# The pure core depends on neither adapters nor the use cases and ports built over it.
FORBIDDEN_LEDGER_ADAPTERS = (*LEDGER_ADAPTERS, "ledger.usecases", "ledger.ports")

# Ports name what the use cases need from storage, in the core's types: no database driver.
FORBIDDEN_IN_PORTS = (
    "sqlite3",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    *LEDGER_ADAPTERS,
    "ledger.usecases",
)

# Layering: what each package may never import.
FORBIDDEN_FOR_PACKAGE = {
    "ledger": ("api", "scanner"),
    "scanner": ("api",),
    "tracemark_client": ("ledger", "api", "scanner", "tests", "samples"),
}

CHECKED_PACKAGES = ("ledger", "api", "scanner", "tracemark_client")
#: Where each package's directory is (the client is its own distribution).
PACKAGE_ROOTS = {"tracemark_client": REPO_ROOT / "clients" / "python"}
#: What the client may import besides the standard library and itself.
CLIENT_DEPENDENCIES = ("httpx",)


# --- The checkers (pure functions over source text) -------------------------------------


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute dotted name


def imported_modules(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every module ``source`` imports, anywhere in the file, as absolute dotted names.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (``c`` may be a submodule); relative
    imports are resolved against ``module``; ``__import__("x")`` and
    ``importlib.import_module("x")`` with a literal name yield ``x``.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                keep = len(parts) - (node.level - 1)
                base = ".".join(parts[: max(keep, 0)] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                yield Import(node.lineno, base)
            for alias in node.names:
                if alias.name != "*":
                    yield Import(node.lineno, f"{base}.{alias.name}" if base else alias.name)
        elif (
            isinstance(node, ast.Call)
            and _is_dynamic_import(node.func)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(node.lineno, node.args[0].value)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def import_violations(
    source: str, module: str, forbidden: Iterable[str], *, is_package: bool = False
) -> list[str]:
    """One message per import of a module in ``forbidden`` (or a submodule of one)."""
    forbidden = tuple(forbidden)
    found: dict[tuple[int, str], None] = {}
    for imp in imported_modules(source, module, is_package=is_package):
        for prefix in forbidden:
            if _matches(imp.module, prefix):
                found[(imp.line, prefix)] = None
    return [f"{module}:{line} imports {prefix}" for line, prefix in sorted(found)]


def defined_names(tree: ast.Module) -> set[str]:
    """Names bound at module level, including inside module-level if/try/with/for blocks."""
    names: set[str] = set()

    def bind(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                bind(element)
        elif isinstance(target, ast.Starred):
            bind(target.value)

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
                continue  # never look inside definitions
            if isinstance(node, ast.Import | ast.ImportFrom):
                names.update(a.asname or a.name.partition(".")[0] for a in node.names)
            for target in _bound_targets(node):
                bind(target)
            # Descend into module-level if/for/while/with/try blocks.
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(tree.body)
    return names


def _bound_targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, ast.AnnAssign):
        return [node.target] if node.value is not None else []
    if isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor):
        return [node.target]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    return []


def all_violations(source: str, module: str) -> list[str]:
    """Problems with ``__all__``: missing, not a literal list of strings, or naming undefined."""
    tree = ast.parse(source)
    listed: list[str] = []
    found = False
    problems: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        found = True
        if not (
            isinstance(value, ast.List | ast.Tuple)
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)
        ):
            problems.append(f"{module}:{node.lineno} __all__ is not a literal list of strings")
            continue
        listed.extend(e.value for e in value.elts if isinstance(e, ast.Constant))
    if not found:
        return [f"{module} does not define __all__"]
    if any(
        isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
        for n in ast.walk(tree)
    ):
        problems.append(f"{module} uses 'import *', which hides what it defines")
    defined = defined_names(tree)
    seen: set[str] = set()
    for name in listed:
        if name in seen:
            problems.append(f"{module} lists {name!r} in __all__ twice")
        seen.add(name)
        if name not in defined:
            problems.append(f"{module} lists {name!r} in __all__ but does not define it")
    return problems


# --- The tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceModule:
    name: str
    path: Path
    is_package: bool

    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(
    root: Path = REPO_ROOT, packages: Iterable[str] = CHECKED_PACKAGES
) -> list[SourceModule]:
    found = []
    for package in packages:
        base = PACKAGE_ROOTS.get(package, root) if root == REPO_ROOT else root
        for path in sorted((base / package).rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found.append(SourceModule(".".join(parts), path, is_package))
    return found


MODULES = discover()


def _in_package(module: SourceModule, package: str) -> bool:
    return _matches(module.name, package)


def _is_public(module: SourceModule) -> bool:
    return not module.is_package and not any(p.startswith("_") for p in module.name.split("."))


PURE = [m for m in MODULES if m.name in PURE_CORE_MODULES]
LAYERED = [
    pytest.param(m, forbidden, id=m.name)
    for m in MODULES
    for package, forbidden in FORBIDDEN_FOR_PACKAGE.items()
    if _in_package(m, package)
]
PUBLIC_LEDGER = [m for m in MODULES if _in_package(m, "ledger") and _is_public(m)]
NOT_ADAPTERS = [
    m
    for m in MODULES
    if _in_package(m, "ledger") and not any(_in_package(m, a) for a in LEDGER_ADAPTERS)
]
PORTS = [m for m in MODULES if _in_package(m, "ledger.ports")]


def test_the_rules_see_the_tree() -> None:
    names = {m.name for m in MODULES}
    assert {"ledger", "api", "scanner", "tracemark_client"} <= names, (
        f"package __init__ files missing: {names}"
    )
    assert PURE, "no pure core module found: are the paths right?"
    assert PUBLIC_LEDGER


@pytest.mark.parametrize("module", PURE, ids=lambda m: m.name)
def test_pure_core_imports_no_io_or_adapters(module: SourceModule) -> None:
    forbidden = FORBIDDEN_IN_PURE_CORE + FORBIDDEN_LEDGER_ADAPTERS
    violations = import_violations(
        module.source(), module.name, forbidden, is_package=module.is_package
    )
    assert not violations, "\n".join(violations)


def test_every_module_of_the_core_packages_is_checked_pure() -> None:
    core = {m.name for m in MODULES if any(_in_package(m, p) for p in PURE_CORE_PACKAGES)}
    assert core, "no core package found: are the paths right?"
    missing = sorted(core - set(PURE_CORE_MODULES))
    assert not missing, f"add to PURE_CORE_MODULES (or move out of the core): {missing}"


@pytest.mark.parametrize("module", NOT_ADAPTERS, ids=lambda m: m.name)
def test_only_adapters_import_adapters(module: SourceModule) -> None:
    violations = import_violations(
        module.source(), module.name, LEDGER_ADAPTERS, is_package=module.is_package
    )
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("module", PORTS, ids=lambda m: m.name)
def test_ports_import_no_driver(module: SourceModule) -> None:
    assert PORTS, "no port found"
    violations = import_violations(
        module.source(), module.name, FORBIDDEN_IN_PORTS, is_package=module.is_package
    )
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize(("module", "forbidden"), LAYERED)
def test_layering(module: SourceModule, forbidden: tuple[str, ...]) -> None:
    violations = import_violations(
        module.source(), module.name, forbidden, is_package=module.is_package
    )
    assert not violations, "\n".join(violations)


CLIENT = [m for m in MODULES if _in_package(m, "tracemark_client")]


@pytest.mark.parametrize("module", CLIENT, ids=lambda m: m.name)
def test_the_client_needs_only_the_standard_library_and_httpx(module: SourceModule) -> None:
    allowed = {*sys.stdlib_module_names, "tracemark_client", *CLIENT_DEPENDENCIES}
    found = imported_modules(module.source(), module.name, is_package=module.is_package)
    outside = sorted({i.module for i in found if i.module.split(".")[0] not in allowed})
    assert not outside, f"{module.name} imports {outside}"


@pytest.mark.parametrize("module", PUBLIC_LEDGER + CLIENT, ids=lambda m: m.name)
def test_public_module_defines_all(module: SourceModule) -> None:
    violations = all_violations(module.source(), module.name)
    assert not violations, "\n".join(violations)


# --- The checkers catch what they should (synthetic sources) ----------------------------


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def test_checker_flags_forbidden_imports_in_every_form() -> None:
    source = _src(
        """
        import os
        import sqlalchemy.orm
        from pathlib import Path
        from ledger.storage import Store
        from ledger import keyfile
        from ..usecases import service
        from ..storage.sql import SqlStore
        import ossaudiodev, hashlib
        from ledger.errors import InvalidInput

        def later():
            import socket
            __import__("subprocess")
            importlib.import_module("time")

        if TYPE_CHECKING:
            from PIL import Image
        """
    )
    forbidden = FORBIDDEN_IN_PURE_CORE + FORBIDDEN_LEDGER_ADAPTERS
    violations = import_violations(source, "ledger.log.merkle", forbidden)
    assert violations == [
        "ledger.log.merkle:1 imports os",
        "ledger.log.merkle:2 imports sqlalchemy",
        "ledger.log.merkle:3 imports pathlib",
        "ledger.log.merkle:4 imports ledger.storage",
        "ledger.log.merkle:5 imports ledger.keyfile",
        "ledger.log.merkle:6 imports ledger.usecases",
        "ledger.log.merkle:7 imports ledger.storage",
        "ledger.log.merkle:12 imports socket",
        "ledger.log.merkle:13 imports subprocess",
        "ledger.log.merkle:14 imports time",
        "ledger.log.merkle:17 imports PIL",
    ]


def test_checker_resolves_relative_imports_from_a_package() -> None:
    source = "from . import sql\nfrom .. import keyfile\n"
    violations = import_violations(
        source, "ledger.storage", ("ledger.storage", "ledger.keyfile"), is_package=True
    )
    assert violations == [
        "ledger.storage:1 imports ledger.storage",
        "ledger.storage:2 imports ledger.keyfile",
    ]


def test_checker_accepts_a_clean_pure_module() -> None:
    source = _src(
        """
        from __future__ import annotations
        import hashlib
        from dataclasses import dataclass
        from ledger.errors import InvalidInput
        from ledger.hashing import leaf_hash
        """
    )
    forbidden = FORBIDDEN_IN_PURE_CORE + FORBIDDEN_LEDGER_ADAPTERS
    assert import_violations(source, "ledger.merkle", forbidden) == []


def test_checker_flags_layering_violations() -> None:
    ledger_source = "from api.cli import main\nimport scanner.decode\nimport apiary\n"
    assert import_violations(ledger_source, "ledger.service", FORBIDDEN_FOR_PACKAGE["ledger"]) == [
        "ledger.service:1 imports api",
        "ledger.service:2 imports scanner",
    ]
    scanner_source = "from ledger.codes import parse\nfrom api import app\n"
    assert import_violations(
        scanner_source, "scanner.decode", FORBIDDEN_FOR_PACKAGE["scanner"]
    ) == [
        "scanner.decode:2 imports api",
    ]


def test_checker_flags_missing_all() -> None:
    assert all_violations("def f(): pass\n", "ledger.x") == ["ledger.x does not define __all__"]


def test_checker_flags_names_in_all_that_are_not_defined() -> None:
    source = _src(
        """
        __all__ = ["present", "Klass", "missing", "present"]

        def present(): pass

        class Klass: pass

        def _helper():
            missing = 1
        """
    )
    assert all_violations(source, "ledger.x") == [
        "ledger.x lists 'missing' in __all__ but does not define it",
        "ledger.x lists 'present' in __all__ twice",
    ]


def test_checker_flags_an_all_that_is_not_literal() -> None:
    source = "names = ['a']\n__all__ = names\na = 1\n"
    assert all_violations(source, "ledger.x") == [
        "ledger.x:2 __all__ is not a literal list of strings"
    ]


def test_checker_accepts_every_way_of_defining_a_name() -> None:
    source = _src(
        """
        from __future__ import annotations
        import hashlib as h
        from ledger.errors import InvalidInput
        __all__ = ["h", "InvalidInput", "A", "B", "C", "T", "f", "g", "K", "fast", "x", "y"]
        __all__ += ["Z"]
        A = B = 1
        C: int = 2
        T: type = int
        x, (y, *Z) = 1, (2, 3)
        def f(): pass
        async def g(): pass
        class K: pass
        try:
            from _speedups import fast
        except ImportError:
            fast = None
        """
    )
    assert all_violations(source, "ledger.x") == []


def test_discover_names_modules_and_packages(tmp_path: Path) -> None:
    (tmp_path / "ledger" / "storage").mkdir(parents=True)
    for rel in (
        "ledger/__init__.py",
        "ledger/_private.py",
        "ledger/storage/__init__.py",
        "ledger/storage/sql.py",
    ):
        (tmp_path / rel).write_text("", encoding="utf-8")
    found = {(m.name, m.is_package) for m in discover(tmp_path, ["ledger"])}
    assert found == {
        ("ledger", True),
        ("ledger._private", False),
        ("ledger.storage", True),
        ("ledger.storage.sql", False),
    }
    public = {m.name for m in discover(tmp_path, ["ledger"]) if _is_public(m)}
    assert public == {"ledger.storage.sql"}
