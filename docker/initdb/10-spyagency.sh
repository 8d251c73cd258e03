#!/bin/bash
# Creates the SpyAgency store database next to Airflow's, with its own user.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE USER spyagency WITH PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE spyagency OWNER spyagency;
SQL
