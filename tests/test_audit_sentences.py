"""Every audit action the code can write has a sentence, so no new action reaches auditors unlabelled.

The actions are found in the source, not in a hand-kept list: every `record(..., action=...)` call,
every call of a function that forwards its `action` argument to one, and those functions' defaults.
An action given as an expression this scan cannot read fails the test too, so a new way of naming
actions cannot slip past it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from reporter.audit import sentences

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reporter"
TABLE = "reporter/audit/sentences.py"


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _constants(modules: list[tuple[str, ast.Module]]) -> tuple[dict, dict]:
    """Return module-level string constants per module and by name across the package."""
    per_module: dict[str, dict[str, str]] = defaultdict(dict)
    by_name: dict[str, set[str]] = defaultdict(set)
    for name, tree in modules:
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for target in targets:
                    if isinstance(target, ast.Name):
                        per_module[name][target.id] = value.value
                        by_name[target.id].add(value.value)
    return per_module, by_name


def _forwarders(modules: list[tuple[str, ast.Module]]) -> dict[str, tuple[int | None, ast.expr | None]]:
    """Return functions that pass their own `action` parameter on as an audit action: name -> position."""
    found: dict[str, tuple[int | None, ast.expr | None]] = {}
    for _name, tree in modules:
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            positional = [arg.arg for arg in (*node.args.posonlyargs, *node.args.args)]
            every = positional + [arg.arg for arg in node.args.kwonlyargs]
            if "action" not in every:
                continue
            forwards = any(isinstance(call, ast.Call) and any(
                keyword.arg == "action" and isinstance(keyword.value, ast.Name)
                and keyword.value.id == "action" for keyword in call.keywords) for call in ast.walk(node))
            if not forwards:
                continue
            index = positional.index("action") if "action" in positional else None
            defaults = dict(zip(positional[len(positional) - len(node.args.defaults):], node.args.defaults,
                                strict=True))
            defaults.update({arg.arg: value for arg, value in zip(node.args.kwonlyargs, node.args.kw_defaults,
                                                                   strict=True) if value is not None})
            found[node.name] = (index, defaults.get("action"))
    return found


def written_actions() -> tuple[dict[str, list[str]], list[str]]:
    """Return {action: [where it is written]} and the places whose action this scan cannot read."""
    modules = list(_modules())
    per_module, by_name = _constants(modules)
    forwarders = _forwarders(modules)
    actions: dict[str, list[str]] = defaultdict(list)
    unreadable: list[str] = []

    def resolve(module: str, expr: ast.expr, where: str) -> None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            actions[expr.value].append(where)
        elif isinstance(expr, ast.Name) and expr.id == "action":
            return  # forwarded: the calls of the forwarding function name the action
        elif isinstance(expr, ast.Name) and expr.id in per_module[module]:
            actions[per_module[module][expr.id]].append(where)
        elif isinstance(expr, ast.Name | ast.Attribute):
            name = expr.id if isinstance(expr, ast.Name) else expr.attr
            values = by_name.get(name)
            if not values:
                unreadable.append(f"{where}: action={ast.unparse(expr)}")
            for value in values or ():
                actions[value].append(where)
        elif isinstance(expr, ast.IfExp):
            resolve(module, expr.body, where)
            resolve(module, expr.orelse, where)
        else:
            unreadable.append(f"{where}: action={ast.unparse(expr)}")

    for module, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in forwarders and forwarders[node.name][1]:
                resolve(module, forwarders[node.name][1], f"{module}:{node.lineno}")
            if not isinstance(node, ast.Call):
                continue
            callee, where = _callee(node), f"{module}:{node.lineno}"
            keyword = next((k.value for k in node.keywords if k.arg == "action"), None)
            if callee == "record" and keyword is not None:
                resolve(module, keyword, where)
            elif callee in forwarders:
                index = forwarders[callee][0]
                if keyword is not None:
                    resolve(module, keyword, where)
                elif index is not None and index < len(node.args):
                    resolve(module, node.args[index], where)
    return dict(actions), unreadable


def test_the_scan_finds_the_actions_it_should():
    actions, _ = written_actions()
    for action in ("case.viewed", "staff.login", "audit.exported", "case.note_added", "case.assessed",
                   "case.risk_changed", "staff.password_changed", "followup.denied", "keys.rotated",
                   "audit.key_rotated", "audit.head_mailed"):
        assert action in actions, action


def test_the_scan_can_read_every_action():
    _, unreadable = written_actions()
    assert not unreadable, (
        "these audit events name their action in a way the sentence check cannot read; pass a string literal "
        "or a module-level string constant:\n" + "\n".join(unreadable))


def test_every_action_the_code_writes_has_a_sentence():
    actions, _ = written_actions()
    missing = sorted(set(actions) - set(sentences.SENTENCES))
    listing = "\n".join(f"  {action!r} (written at {', '.join(actions[action])})" for action in missing)
    assert not missing, (
        f"audit actions without a sentence for auditors:\n{listing}\n"
        f"add each to SENTENCES in {TABLE} as lazy_gettext(\"...\") and add its translations")


@pytest.mark.parametrize("action", sorted(sentences.SENTENCES))
def test_each_sentence_uses_only_known_placeholders(action):
    text = sentences.SENTENCES[action]._args[0]
    for placeholder in sentences.PLACEHOLDER.findall(text):
        assert placeholder in sentences.PLACEHOLDERS, f"{action}: unknown placeholder %({placeholder})s"
