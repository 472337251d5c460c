"""Architecture rules as checks: queries only in repositories, no commit() in services,
imports point downward (web → service → repository/models → kit)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "microcred"
CONTEXTS = ["identity", "catalog", "credentials", "assessment", "learning", "ask"]
STATEMENT_BUILDERS = {"select", "insert", "update", "delete"}  # sqlalchemy functions
SESSION_QUERIES = {"execute", "scalar", "scalars", "query"}  # methods that run SQL


def query_violations(source: str) -> list[str]:
    """Calls that run SQL: select()/insert()/... or session.execute()/.scalar()/.query()/.get()."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in STATEMENT_BUILDERS:
            found.append(f"line {node.lineno}: {func.id}()")
        elif isinstance(func, ast.Attribute) and (
            func.attr in SESSION_QUERIES
            or (
                func.attr == "get"
                and isinstance(func.value, ast.Name)
                and func.value.id == "session"
            )
        ):
            found.append(f"line {node.lineno}: {func.attr}()")
    return found


def commit_violations(source: str) -> list[str]:
    return [
        f"line {n.lineno}: commit()"
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "commit"
    ]


def imported_modules(source: str) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.update(f"{node.module}.{a.name}" for a in node.names)
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_query_check_catches_a_query_and_passes_plain_code() -> None:
    bad = "def f(session):\n    return session.scalars(select(User)).all()\n"
    good = "def f(session, user):\n    session.add(user)\n    session.flush()\n"
    assert query_violations(bad) == ["line 2: scalars()", "line 2: select()"] or sorted(
        query_violations(bad)
    ) == ["line 2: scalars()", "line 2: select()"]
    assert query_violations(good) == []
    assert query_violations("def f(session):\n    return session.get(User, 1)\n")


def test_commit_check_catches_commit() -> None:
    assert commit_violations("def f(session):\n    session.commit()\n") == ["line 2: commit()"]
    assert commit_violations("def f(session):\n    session.flush()\n") == []


@pytest.mark.parametrize("context", CONTEXTS)
def test_queries_live_only_in_repositories(context: str) -> None:
    problems = []
    for path in sorted((SRC / context).glob("*.py")):
        # A context may split its queries by aggregate (ask: repository.py, survey_repository.py).
        if path.name.endswith("repository.py"):
            continue
        for problem in query_violations(path.read_text()):
            problems.append(f"{path.relative_to(SRC)} {problem}")
    assert problems == [], "queries outside repository.py:\n" + "\n".join(problems)


def test_no_commit_outside_the_unit_of_work() -> None:
    allowed = {SRC / "kit" / "db.py", SRC / "kit" / "web" / "deps.py"}
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        if path in allowed or "migrations" in path.parts:
            continue
        problems += [f"{path.relative_to(SRC)} {p}" for p in commit_violations(path.read_text())]
    assert problems == [], "commit() belongs to the framework:\n" + "\n".join(problems)


@pytest.mark.parametrize("context", CONTEXTS)
def test_services_know_nothing_of_http(context: str) -> None:
    for name in ("service.py", "repository.py", "models.py"):
        path = SRC / context / name
        if path.exists():
            web = {
                m
                for m in imported_modules(path.read_text())
                if m.split(".")[0] in {"fastapi", "starlette"} or ".web" in m
            }
            assert web == set(), f"{context}/{name} imports {web}"


@pytest.mark.parametrize("context", CONTEXTS)
def test_contexts_never_reach_into_each_others_repositories(context: str) -> None:
    for path in (SRC / context).glob("*.py"):
        for module in imported_modules(path.read_text()):
            parts = module.split(".")
            if (
                len(parts) >= 3
                and parts[0] == "microcred"
                and parts[1] in CONTEXTS
                and parts[1] != context
            ):
                assert parts[2] != "repository", f"{context}/{path.name} imports {module}"


def test_settings_are_the_only_reader_of_the_environment() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if path.name == "settings.py":
            continue
        assert "os.environ" not in text and "getenv(" not in text, path
