"""Clients of the systems SpyAgency watches: Tier0 Data Service, CondDB, DQM GUI."""
