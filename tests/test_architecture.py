"""The shape of the code, checked: the arrows of the README's architecture section hold."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Besides the store and the migrations, only the clients of outside databases speak SQLAlchemy.
SQL_OUTSIDE_STORE = {"spyagency/observe/conddb.py", "spyagency/observe/conddb_schema.py",
                     "spyagency/act/tier0_control.py", "spyagency/simulator/world.py"}
#: The decide modules that are pure: no store, no sources, no clock.
PURE = {"readiness", "attribution", "steering", "release", "finalize", "quality", "forecast"}


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


def test_sqlalchemy_is_spoken_only_in_the_store_and_the_clients_of_outside_databases():
    offenders = sorted(name for name, imports in _modules("spyagency", "api", "dags", "plugins").items()
                       if any(i.split(".")[0] == "sqlalchemy" for i in imports)
                       and not name.startswith(("spyagency/store/", "spyagency/migrations/"))
                       and name not in SQL_OUTSIDE_STORE)
    assert offenders == []


def test_the_core_imports_no_door():
    doors = ("api", "dags", "plugins", "airflow", "fastapi", "starlette", "uvicorn", "spyagency_airflow")
    offenders = sorted(name for name, imports in _modules("spyagency").items()
                       if any(i.split(".")[0] in doors for i in imports))
    assert offenders == []


def test_decisions_are_pure_functions_of_their_arguments():
    for name in PURE:
        imports = _imports(ROOT / "spyagency" / "decide" / f"{name}.py")
        impure = sorted(i for i in imports if i.startswith(("spyagency.store", "spyagency.observe", "spyagency.act",
                                                            "spyagency.clock", "sqlalchemy", "httpx")))
        assert impure == [], (name, impure)


def test_the_store_depends_on_no_phase():
    phases = ("spyagency.observe", "spyagency.decide", "spyagency.act", "spyagency.people", "spyagency.console")
    offenders = sorted(name for name, imports in _modules("spyagency/store").items()
                       if any(i.startswith(phases) for i in imports))
    assert offenders == []
