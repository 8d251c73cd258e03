"""The shape of the code, checked: the arrows of the README's architecture section hold."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Besides the store and the migrations, only the clients of outside databases speak SQLAlchemy.
SQL_OUTSIDE_STORE = {"spyagency/database_urls.py", "spyagency/sources/conddb.py", "spyagency/sources/conddb_schema.py",
                     "spyagency/sources/tier0_switch.py", "simulator/world.py"}
#: What the pure core may import: the standard library's computing parts, numbers, and itself (and the policy's types).
CORE_MAY_IMPORT = {"__future__", "bisect", "collections", "dataclasses", "datetime", "enum", "functools", "hashlib",
                   "json", "math", "statistics", "types", "typing", "unicodedata", "numpy", "scipy", "sklearn",
                   "spyagency.core", "spyagency.policy"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(*folders: str) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): _imports(path)
            for folder in folders for path in (ROOT / folder).rglob("*.py")}


def _allowed(name: str, allowed: set[str]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


def test_sqlalchemy_is_spoken_only_in_the_store_and_the_clients_of_outside_databases():
    offenders = sorted(name for name, imports in _modules("spyagency", "api", "dags", "plugins", "simulator").items()
                       if any(i.split(".")[0] == "sqlalchemy" for i in imports)
                       and not name.startswith(("spyagency/store/", "spyagency/migrations/"))
                       and name not in SQL_OUTSIDE_STORE)
    assert offenders == []


def test_the_core_imports_no_door_and_no_simulator():
    doors = ("api", "dags", "plugins", "airflow", "fastapi", "starlette", "uvicorn", "spyagency_airflow", "simulator")
    offenders = sorted(name for name, imports in _modules("spyagency").items()
                       if any(i.split(".")[0] in doors for i in imports))
    assert offenders == []


def test_the_whole_core_package_is_pure():
    """No store, no source, no pass, no clock, no file or network: every module of spyagency/core, no whitelist."""
    for name, imports in _modules("spyagency/core").items():
        impure = sorted(i for i in imports if not _allowed(i, CORE_MAY_IMPORT))
        assert impure == [], (name, impure)
        tree = ast.parse((ROOT / name).read_text())
        clock_reads = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                       and node.attr in ("now", "utcnow", "today", "time", "monotonic")
                       and isinstance(node.value, ast.Name) and node.value.id in ("datetime", "date", "time")]
        assert clock_reads == [], (name, "reads a clock at lines", clock_reads)


def test_the_store_depends_on_no_pass_and_no_view():
    phases = ("spyagency.passes", "spyagency.sources", "spyagency.people", "spyagency.views")
    offenders = sorted(name for name, imports in _modules("spyagency/store").items()
                       if any(i.startswith(phases) for i in imports))
    assert offenders == []


def test_sources_know_nothing_of_the_passes_or_the_store():
    inner = ("spyagency.passes", "spyagency.store", "spyagency.views")
    offenders = sorted(name for name, imports in _modules("spyagency/sources").items()
                       if any(i.startswith(inner) for i in imports))
    assert offenders == []


#: What a test of a pure rule never touches: servers, worlds, stores, processes, sockets.
SERVER_NAMES = {"world_factory", "make_world", "store_url", "Store", "TestClient", "ReferenceWorld", "Simulator",
                "uvicorn", "httpx", "subprocess", "socket", "PostgresServer", "served_steering", "harness_factory"}


def test_the_tests_of_pure_rules_start_no_server():
    """tests/core/ mirrors spyagency/core/: its tests call the rules directly, on values."""
    for path in sorted((ROOT / "tests" / "core").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
        used |= {alias.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        assert not used & SERVER_NAMES, (path.name, sorted(used & SERVER_NAMES))
