"""Decide: pure functions from stored facts + policy + now to verdicts, and the pass that records them.

``attribution`` says whose harvest each upload is, ``readiness`` decides a run, ``steering`` decides
where Tier0's release switch should be, ``release`` answers Tier0's question; ``decisions`` runs the
pass over every active run. Nothing here reads a clock or a source.
"""
