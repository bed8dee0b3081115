"""The package keeps its shape: small modules, short views, roles decided in one place, no benchmark routes.

Pure scans of the source files under ``reporter/``: nothing here builds an application.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from reporter.models.staff import ROLES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reporter"
MAX_MODULE_LINES = 300
MAX_VIEW_LINES = 30
ROUTE_DECORATORS = {"route", "get", "post"}
#: access.py decides what each role may do; models/staff.py is where the roles are listed.
ROLE_DECIDER = PACKAGE / "access.py"
ROLE_LIST = PACKAGE / "models" / "staff.py"
_COLLECTION_CALLS = {"frozenset", "set", "tuple", "list"}
_SQL_MEMBERSHIP = {"in_", "not_in", "notin_"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _literal_items(node: ast.expr) -> list[ast.expr] | None:
    """Return the elements of a tuple/list/set literal, bare or inside frozenset(...) and the like."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _COLLECTION_CALLS:
        if len(node.args) != 1 or node.keywords:
            return None
        node = node.args[0]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return list(node.elts)
    return None


def _line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0)


def _is_role(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ROLES


def _mentions_role(node: ast.expr) -> bool:
    items = _literal_items(node)
    return _is_role(node) or (items is not None and any(_is_role(item) for item in items))


def _outside_functions(node: ast.AST) -> Iterator[ast.AST]:
    """Yield the nodes of a module or class body, not descending into functions or lambdas."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        yield child
        yield from _outside_functions(child)


def test_no_module_is_over_300_lines():
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules()}
    offenders = [f"{_name(path)}: {lines} lines" for path, lines in sizes.items() if lines > MAX_MODULE_LINES]
    listing = "\n".join(offenders)
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines (split them by concern):\n{listing}"


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and isinstance(decorator.func.value, ast.Name)
        and decorator.func.value.id == "bp"
        and decorator.func.attr in ROUTE_DECORATORS
    )


def test_no_view_is_over_30_lines():
    offenders = []
    views = 0
    for path in _modules():
        if PACKAGE / "web" not in path.parents:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _is_route(d) for d in node.decorator_list
            ):
                views += 1
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > MAX_VIEW_LINES:
                    offenders.append(f"{_name(path)}:{node.lineno} {node.name}: {length} lines")
    assert views, "found no views under reporter/web/: the decorator scan is out of date"
    listing = "\n".join(offenders)
    assert not offenders, f"views over {MAX_VIEW_LINES} lines (move the work to a domain module):\n{listing}"


def test_roles_are_compared_only_in_access():
    offenders = []
    for path in _modules():
        if path == ROLE_DECIDER:
            continue
        for node in sorted(ast.walk(_tree(path)), key=_line):
            if isinstance(node, ast.Compare) and any(
                _mentions_role(side) for side in (node.left, *node.comparators)
            ):
                offenders.append(f"{_name(path)}:{node.lineno} compares a role: {ast.unparse(node)}")
            # The same comparison made in SQL: column.in_(("coordinator", ...)) or column.not_in(...).
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _SQL_MEMBERSHIP and any(_mentions_role(arg) for arg in node.args)):
                offenders.append(f"{_name(path)}:{node.lineno} compares a role in SQL: {ast.unparse(node)}")
    listing = "\n".join(offenders)
    assert not offenders, f"compare permissions from reporter.access, not role names:\n{listing}"


def test_no_second_list_of_roles():
    offenders = []
    for path in _modules():
        if path in (ROLE_DECIDER, ROLE_LIST):
            continue
        for node in _outside_functions(_tree(path)):
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            items = _literal_items(node.value)
            if items and all(_is_role(item) for item in items):
                offenders.append(f"{_name(path)}:{node.lineno} lists roles: {ast.unparse(node)}")
    listing = "\n".join(offenders)
    assert not offenders, f"a permission in reporter.access says which roles, not a list here:\n{listing}"


def test_the_package_registers_no_benchmark_routes():
    offenders = [f"{_name(path)}: a benchmark module" for path in _modules() if path.name.startswith("bench")]
    offenders += [
        f"{_name(path)}:{node.lineno} a benchmark path {node.value!r}"
        for path in _modules()
        for node in sorted(ast.walk(_tree(path)), key=_line)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/bench")
    ]
    # The plaintext baselines live in bench/, served by the benchmarks only, never by the application.
    listing = "\n".join(offenders)
    assert not offenders, f"plaintext benchmark routes belong in bench/, not the package:\n{listing}"
