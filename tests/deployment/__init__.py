"""Tests of Airflow, Compose and the shape of the code."""
