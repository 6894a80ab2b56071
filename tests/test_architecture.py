"""The architecture holds: pure rules stay pure, imports point one way, one writer of attempts."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lms", "question_bank", "exams", "certificates")
#: Rule modules: plain values in, plain values out (STYLE.md, habit 4).
PURE = (
    "exams/rules.py",
    "exams/statistics.py",
    "exams/typing/scoring.py",
    "exams/typing/plausibility.py",
    "exams/typing/composition.py",
)
#: What each package may import of the others: dependencies point one way.
ALLOWED = {
    "lms": set(),
    "question_bank": {"lms"},
    "exams": {"lms", "question_bank"},
    "certificates": {"lms", "exams", "question_bank"},
}
#: Attempt and item fields that only the engine writes (STYLE.md, habit 5).
ENGINE_ONLY = {"state", "finish_reason", "finished_at", "grade_state", "seq", "needs_grading"}
ENGINE = "exams/engine.py"


def sources(package: str):
    """Yield (path relative to the root, parsed module) of a package's Python files."""
    for path in sorted((ROOT / package).rglob("*.py")):
        yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def imported(tree: ast.AST) -> set[str]:
    """Return every module name a module imports, at any depth (functions included)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_rule_modules_import_neither_flask_nor_sqlalchemy(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    bad = {
        n
        for n in imported(tree)
        if n.split(".")[0] in {"flask", "flask_babel", "flask_sqlalchemy", "sqlalchemy", "werkzeug"}
        or n.split(".")[0] in PACKAGES
    }
    assert bad == set(), f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("package", [p for p in PACKAGES if (ROOT / p).is_dir()])
def test_imports_point_one_way(package):
    wrong = []
    for path, tree in sources(package):
        for name in imported(tree):
            top = name.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                wrong.append(f"{path} imports {name}")
    assert wrong == []


def test_only_the_engine_writes_attempt_state():
    writes = []
    for package in ("lms", "question_bank", "exams"):
        for path, tree in sources(package):
            if path == ENGINE:
                continue
            for node in ast.walk(tree):
                targets = []
                if isinstance(node, ast.Assign):
                    targets = node.targets
                elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                    targets = [node.target]
                for target in targets:
                    for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                        if isinstance(t, ast.Attribute) and t.attr in ENGINE_ONLY:
                            writes.append(f"{path}:{t.lineno} sets .{t.attr}")
                # update(Attempt) / update(AttemptItem) statements
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "update"
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in {"Attempt", "AttemptItem"}
                ):
                    writes.append(f"{path}:{node.lineno} updates {node.args[0].id}")
    assert writes == []


def test_the_architecture_checks_can_fail(tmp_path):
    """Guard the guards: the scanners see an upward import and a stray state write."""
    tree = ast.parse("from exams import engine\nattempt.state = 'finished'\n")
    assert "exams" in imported(tree)
    assert any(
        isinstance(n, ast.Attribute) and n.attr == "state" and isinstance(n.ctx, ast.Store)
        for n in ast.walk(tree)
    )
