"""The compose file names every production service and takes secrets only from the environment."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..support.missing import missing

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def test_compose_has_the_production_services_and_no_inline_secrets():
    spec = yaml.safe_load(COMPOSE.read_text())
    assert {"postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "spyagency-api", "spyagency-release"} <= set(spec["services"])
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${SPYAGENCY_TOKENS:?" in text
    assert spec["services"]["spyagency-api"]["command"][:2] == ["spyagency", "serve"]
    assert spec["services"]["spyagency-release"]["command"][:2] == ["spyagency", "serve-release"]


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) if present, else Debian's `docker-compose` (v1); neither needs an engine."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


REQUIRED_SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "AIRFLOW_JWT_SECRET": "jwt-secret",
                    "SPYAGENCY_TOKENS": "t0=tier0:tier0", "SPYAGENCY_SECRET_KEY": "csrf-secret"}


def _compose_config(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = _compose_command()
    if command is None:
        missing("compose", "neither `docker compose` nor `docker-compose` is installed")
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS} | env_overrides
    return subprocess.run([*command, "-p", "spyagency", "-f", str(COMPOSE), "config"],
                          capture_output=True, text=True, env=env, timeout=120)


def test_docker_compose_config_validates_the_file_with_secrets_from_the_environment():
    result = _compose_config(REQUIRED_SECRETS)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    api = resolved["services"]["spyagency-api"]["environment"]
    assert api["SPYAGENCY_DB_URL"] == "postgresql+psycopg2://spyagency:pg-secret@postgres/spyagency"
    assert api["SPYAGENCY_TOKENS"] == "t0=tier0:tier0"


def test_docker_compose_config_refuses_to_run_without_a_database_password():
    result = _compose_config({k: v for k, v in REQUIRED_SECRETS.items() if k != "POSTGRES_PASSWORD"})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


ROOT = COMPOSE.parent.parent
BIN = Path(sys.executable).parent


def _extras(text: str) -> set[str]:
    """The extras of every `.[a,b]` install in a Dockerfile or shell script."""
    return {extra for group in re.findall(r"\.\[([a-z,]+)\]", text) for extra in group.split(",")}


def _image_commands() -> list[list[str]]:
    """Every command a service built from our image runs, `bash -c "a && b"` split into a and b."""
    spec = yaml.safe_load(COMPOSE.read_text())
    commands = []
    for service in spec["services"].values():
        if service.get("image") != "spyagency:latest" or "command" not in service:
            continue
        command = service["command"]
        if command[:2] == ["bash", "-c"]:
            commands += [shlex.split(part) for part in command[2].split("&&")]
        else:
            commands.append(command)
    return commands


def test_this_install_has_every_extra_the_image_installs():
    image = _extras((ROOT / "docker" / "Dockerfile").read_text())
    assert {"airflow", "celery", "postgres"} <= image
    assert image <= _extras((ROOT / ".ci" / "run").read_text())


@pytest.mark.airflow
def test_every_command_the_compose_stack_runs_exists_in_the_image_install(tmp_path):
    try:
        import airflow  # noqa: F401
    except ImportError:
        missing("airflow", "apache-airflow is not installed")
    commands = _image_commands()
    assert ["airflow", "celery", "worker"] in commands and ["spyagency", "migrate"] in commands
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": f"{BIN}:{os.environ['PATH']}"}
    for command in commands:
        words = [w for w in command if not w.startswith("-") and w not in ("0.0.0.0", "8000")]
        result = subprocess.run([str(BIN / words[0]), *words[1:], "--help"], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr[-1500:]}"
    probe = ("from airflow.executors.executor_loader import ExecutorLoader;"
             "print(ExecutorLoader.import_default_executor_cls()[0].__name__); import redis")
    loaded = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0 and loaded.stdout.strip().endswith("CeleryExecutor"), loaded.stderr[-1500:]
