"""The adapters' house rules (api/), checked by parsing the source with ``ast``.

routes     a route module (api/http/routes/*.py) imports no other route module and not the
           app module (api/http/app.py): routes take dependencies, errors and schemas
           (api/http/deps.py, errors.py, schemas.py) and the core.
adapters   the CLI (api/cli/) never imports the HTTP adapter (api/http/) and the HTTP
           adapter never imports the CLI. The one exception: ``tracemark serve``
           (api/cli/serve.py) runs the app, so it may import ``api.http.app``. What both
           share lives in neutral modules (NEUTRAL: api/results.py, api/settings.py,
           api/submit.py, api/webhooks.py, api/logs.py, api/metrics.py, api/proxies.py),
           which import neither.
cycles     the import graph of api/ is acyclic, counting imports inside functions and not
           those under ``if TYPE_CHECKING:`` (never run).
startup    importing api.cli (what ``tracemark --help`` runs) loads no heavy library.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.architecture.test_imports import REPO_ROOT, SourceModule, discover

API = discover(REPO_ROOT, ["api"])
NAMES = {m.name for m in API}

ROUTES = "api.http.routes"
HTTP = "api.http"
CLI = "api.cli"
#: Adapter modules that are neither HTTP nor CLI: either may import them.
NEUTRAL = (
    "api.results",
    "api.settings",
    "api.submit",
    "api.webhooks",
    "api.logs",
    "api.metrics",
    "api.proxies",
    "api.periods",
)
#: The one import from the CLI into the HTTP adapter: ``tracemark serve`` runs the app.
ALLOWED_CLI_TO_HTTP = {("api.cli.serve", "api.http.app")}
#: What ``tracemark --help`` must not load (docs/cli.md, start-up time).
HEAVY = ("sqlalchemy", "sqlmodel", "numpy", "av", "PIL", "scanner", "fastapi", "uvicorn", "httpx")


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""

    def visit(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from (n for s in child.orelse for n in visit_stmt(s))
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            yield from visit(child)

    def visit_stmt(stmt: ast.stmt) -> Iterator[ast.Import | ast.ImportFrom]:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            yield stmt
        yield from visit(stmt)

    yield from visit(tree)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_edges(source: str, module: str, known: set[str], *, is_package: bool) -> set[str]:
    """The modules of ``known`` that ``source`` imports at run time (a ``from a import b``
    names ``a.b`` when that is a module, else ``a``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for name in targets:
            # The longest known module the name falls in (``import a.b.c`` uses a.b.c).
            while name and name not in known:
                name = name.rpartition(".")[0]  # noqa: PLW2901
            if name and name != module:
                found.add(name)
    return found


def graph(modules: list[SourceModule]) -> dict[str, set[str]]:
    known = {m.name for m in modules}
    return {
        m.name: import_edges(m.source(), m.name, known, is_package=m.is_package) for m in modules
    }


def find_cycle(edges: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle (``[a, b, ..., a]``), or None when the graph is acyclic."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(edges.get(node, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle is not None:
                    return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(edges):
        if start not in done:
            cycle = visit(start)
            if cycle is not None:
                return cycle
    return None


EDGES = graph(API)


def adapter_violations(edges: Mapping[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            if _within(module, ROUTES) and (
                (_within(target, ROUTES) and target != ROUTES) or target == "api.http.app"
            ):
                problems.append(f"{module} imports {target}: a route imports no route or app")
            if (
                _within(module, CLI)
                and _within(target, HTTP)
                and (module, target) not in ALLOWED_CLI_TO_HTTP
            ):
                problems.append(f"{module} imports {target}: the CLI never imports api.http")
            if _within(module, HTTP) and _within(target, CLI):
                problems.append(f"{module} imports {target}: api.http never imports the CLI")
            if any(_within(module, n) for n in NEUTRAL) and (
                _within(target, HTTP) or _within(target, CLI)
            ):
                problems.append(f"{module} imports {target}: a neutral module imports no adapter")
    return problems


def test_the_rules_see_the_adapters() -> None:
    assert {"api.http.app", "api.http.routes.verify", "api.cli.app", "api.cli.serve"} <= NAMES
    assert all(n in NAMES for n in NEUTRAL), set(NEUTRAL) - NAMES
    assert "api.http.deps" in EDGES["api.http.routes.verify"]
    # Imports inside functions count: serve imports the app only when it runs.
    assert "api.http.app" in EDGES["api.cli.serve"]


def test_routes_adapters_and_neutral_modules_keep_apart() -> None:
    problems = adapter_violations(EDGES)
    assert not problems, "\n".join(problems)


def test_the_api_import_graph_has_no_cycle() -> None:
    cycle = find_cycle(EDGES)
    assert cycle is None, " -> ".join(cycle or [])


def test_tracemark_help_loads_no_heavy_library() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        import api.cli
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert found == "", f"import api.cli loads {found}: defer it into the command"


# --- The checkers catch what they should (synthetic sources) ----------------------------


def test_edges_count_function_imports_but_not_type_checking_ones() -> None:
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        from api.http import errors
        from api.http.deps import StateDep
        import api.results
        from . import schemas

        if TYPE_CHECKING:
            from api.http.app import AppState

        def later():
            from api.http.routes.log import router
        """
    )
    known = {
        "api.http",
        "api.http.errors",
        "api.http.deps",
        "api.http.app",
        "api.http.schemas",
        "api.http.routes",
        "api.http.routes.log",
        "api.http.routes.verify",
        "api.results",
    }
    edges = import_edges(source, "api.http.routes.verify", known, is_package=False)
    assert edges == {
        "api.http.errors",
        "api.http.deps",
        "api.results",
        "api.http.routes.log",
        "api.http.routes",  # ``from . import schemas`` in a route package names the package
    }


def test_checker_flags_each_kind_of_violation() -> None:
    edges = {
        "api.http.routes.scan": {"api.http.routes.verify", "api.http.app", "api.http.deps"},
        "api.cli.scan": {"api.http.routes.verify", "api.results"},
        "api.cli.serve": {"api.http.app"},
        "api.http.verification": {"api.cli.options"},
        "api.results": {"api.http.schemas"},
    }
    assert adapter_violations(edges) == [
        "api.cli.scan imports api.http.routes.verify: the CLI never imports api.http",
        "api.http.routes.scan imports api.http.app: a route imports no route or app",
        "api.http.routes.scan imports api.http.routes.verify: a route imports no route or app",
        "api.http.verification imports api.cli.options: api.http never imports the CLI",
        "api.results imports api.http.schemas: a neutral module imports no adapter",
    ]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
    ids=["acyclic", "two", "deeper", "self"],
)
def test_find_cycle(edges: dict[str, set[str]], expected: list[str] | None) -> None:
    assert find_cycle(edges) == expected


def test_discover_sees_the_cli_package(tmp_path: Path) -> None:
    (tmp_path / "api" / "cli").mkdir(parents=True)
    for rel in ("api/__init__.py", "api/cli/__init__.py", "api/cli/serve.py"):
        (tmp_path / rel).write_text("", encoding="utf-8")
    assert {m.name for m in discover(tmp_path, ["api"])} == {"api", "api.cli", "api.cli.serve"}


def test_the_whole_import_graph_has_no_cycle() -> None:
    """The core, the scanner and the adapters together: no import circle anywhere (a package
    importing its own modules counts, ``__init__`` re-exports included)."""
    everything = discover(REPO_ROOT, ["ledger", "scanner", "api"])
    assert len(everything) > 100
    cycle = find_cycle(graph(everything))
    assert cycle is None, " -> ".join(cycle or [])
