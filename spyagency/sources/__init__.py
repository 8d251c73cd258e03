"""The outside systems, one home each, read and write together.

``tier0`` reads the Tier0 Data Service (REST) and ``tier0_switch`` writes Tier0's
``promptreco_status`` table; ``conddb`` reads the conditions database (SQL over its real schema);
``dqm`` reads the DQM GUI (both JSON APIs, ``jsroot`` for the new one); ``http`` is their HTTP
client and ``errors`` their error branch.
"""

__all__ = ["conddb", "conddb_schema", "dqm", "errors", "http", "jsroot", "tier0", "tier0_switch"]
