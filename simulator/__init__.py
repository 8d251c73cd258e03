"""A realistic fake of Tier0 Data Service, CondDB and DQM GUI, for demos and tests.

The Tier0 Data Service and the DQM GUI are served as real HTTP servers on
127.0.0.1; the CondDB is an SQLite file with the real schema. A timeline of
runs advances with a clock, writing what the real systems would show.
"""
