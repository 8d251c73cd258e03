"""Packing and unpacking of CondDB IOV ``since`` values.

Run-based tags use the run number as since. Lumi-based tags pack
``(run << 32) | lumisection``; time-based tags pack ``(unix_seconds << 32) | ns``.
"""

from __future__ import annotations

_LOW_32 = (1 << 32) - 1


def pack_lumi(run: int, lumi: int) -> int:
    """Return the since of lumisection ``lumi`` of ``run`` in a lumi-based tag."""
    if run < 0 or not 0 <= lumi <= _LOW_32:
        raise ValueError(f"cannot pack run={run} lumi={lumi}: run must be >= 0, lumi a 32-bit value")
    return (run << 32) | lumi


def unpack_lumi(since: int) -> tuple[int, int]:
    """Return ``(run, lumi)`` of a lumi-based since."""
    if since < 0:
        raise ValueError(f"since must be >= 0, got {since}")
    return since >> 32, since & _LOW_32


def run_of_since(since: int, time_type: str) -> int:
    """Return the run a since value starts in, for Run or Lumi tags."""
    kind = time_type.lower()
    if kind == "run":
        return since
    if kind == "lumi":
        return unpack_lumi(since)[0]
    raise ValueError(f"time type {time_type!r} has no run in its since; expected Run or Lumi")


def run_range(run: int, time_type: str) -> tuple[int, int]:
    """Return the half-open since range ``[low, high)`` covering ``run`` in a tag."""
    kind = time_type.lower()
    if kind == "run":
        return run, run + 1
    if kind == "lumi":
        return run << 32, (run + 1) << 32
    raise ValueError(f"time type {time_type!r} has no run range; expected Run or Lumi")


def since_floor(run: int, time_type: str) -> int:
    """Return the lowest since that lies in ``run`` or a later run."""
    return run_range(run, time_type)[0]
