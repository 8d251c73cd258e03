"""Observe: read the systems SpyAgency watches (Tier0 Data Service, CondDB, DQM GUI) and store what they say.

The clients (``tier0``, ``conddb``, ``dqm``) speak each system's real protocol and return domain
observations; ``polling`` writes them into the store with the time they were read.
"""
