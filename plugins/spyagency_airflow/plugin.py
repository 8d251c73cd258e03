"""Registers a link from the Airflow UI to the SpyAgency dashboard."""

from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin


class SpyAgencyPlugin(AirflowPlugin):
    name = "spyagency"
    external_views = [{
        "name": "SpyAgency dashboard",
        "href": os.environ.get("SPYAGENCY_DASHBOARD_URL", "http://127.0.0.1:8000/"),
        "destination": "nav",
        "url_route": "spyagency",
    }]
