"""Airflow loads plugins from top-level modules of the plugins folder."""

from spyagency_airflow.plugin import SpyAgencyPlugin

__all__ = ["SpyAgencyPlugin"]
