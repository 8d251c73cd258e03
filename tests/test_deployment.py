"""The compose file names every production service and takes secrets only from the environment."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker" / "compose.yaml"


def test_compose_has_the_production_services_and_no_inline_secrets():
    spec = yaml.safe_load(COMPOSE.read_text())
    assert {"postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "spyagency-api"} <= set(spec["services"])
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${SPYAGENCY_TOKENS:?" in text
    assert spec["services"]["spyagency-api"]["command"][:2] == ["spyagency", "serve"]
