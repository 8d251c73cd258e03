"""SpyAgency: tells the CMS Tier0 when a run's prompt calibrations are in.

The package is the whole domain: sources (Tier0 Data Service, CondDB, DQM GUI),
the readiness decision, the state store and the release steering. Doors into it
(Airflow DAGs, the FastAPI service, the CLI) only translate and call in.
"""

__version__ = "0.1.0"
