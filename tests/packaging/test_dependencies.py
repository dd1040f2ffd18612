"""Every package signal_rest imports is one it declares: an import that works here only because
a test tool happened to install its package fails for users of the wheel."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "signal_rest"
OPTIONAL = ("ImportError", "ModuleNotFoundError")


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _guarded(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside a `try` that copes with the module being absent."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {
                name.id
                for handler in node.handlers
                for name in ast.walk(handler.type or ast.Name("BaseException"))
                if isinstance(name, ast.Name)
            }
            if caught & {*OPTIONAL, "BaseException", "Exception"}:
                lines |= {
                    n.lineno
                    for stmt in node.body
                    for n in ast.walk(stmt)
                    if isinstance(n, ast.Import | ast.ImportFrom)
                }
    return lines


def _imports() -> dict[str, set[tuple[str, bool]]]:
    """Third-party top-level modules imported by signal_rest: where, and whether optional."""
    found: dict[str, set[tuple[str, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top in sys.stdlib_module_names or top == "signal_rest":
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(top, set()).add((where, node.lineno in guarded))
    return found


def test_every_imported_package_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for group in project["optional-dependencies"].values() for r in group}
    distributions = packages_distributions()
    imports = _imports()
    assert {"fastapi", "starlette", "pydantic"} <= set(imports)  # the walk finds imports
    problems = []
    for module, places in sorted(imports.items()):
        names = {_name(d) for d in distributions.get(module, [])}
        where = ", ".join(sorted(w for w, _ in places))
        if not names:
            problems.append(f"{module} (imported at {where}) is installed by no distribution here")
        elif not names & required:
            optional = all(is_optional for _, is_optional in places)
            if not (optional and names & extras):
                problems.append(f"{module} from {sorted(names)} is not declared ({where})")
    assert problems == []
