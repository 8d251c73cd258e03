"""The SpyAgency HTTP service: release API for Tier0, acknowledgements, dashboard. Translates only."""
