"""Airflow hooks, sensors, triggers and the UI link for SpyAgency. All logic stays in spyagency/."""
