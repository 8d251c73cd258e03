"""Histograms of the new DQM GUI's ``/api/v1/json`` API, read into the shape the legacy ``jsonfairy`` gives.

The new GUI (cmssw ``DQMServices/DQMGUI``) answers with the ROOT object serialised by ROOT's
``TBufferJSON`` (what JSROOT draws): ``fXaxis`` with ``fNbins`` and ``fLabels``, the bin contents
in ``fArray`` with the under- and overflow cells, and the statistics sums ``fTsumw``, ``fTsumwx``
and ``fTsumwx2``. The rest of SpyAgency reads one shape, so this module translates: bins 1..n,
their labels, and the mean and RMS ROOT itself would compute from the sums.
"""

from __future__ import annotations

import math
from typing import Any

from spyagency.sources.errors import DqmProtocolError


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DqmProtocolError(f"{what} is not a positive whole number: {value!r:.40}")
    return value


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DqmProtocolError(f"{what} is not a finite number: {value!r:.40}")
    return float(value)


def _labels(axis: dict[str, Any], bins: int) -> list[str] | None:
    """Bin labels in bin order (``TObjString``s whose ``fUniqueID`` is the bin), or None when unlabelled."""
    labels = axis.get("fLabels")
    if labels is None:
        return None
    items = labels.get("arr") if isinstance(labels, dict) else None
    if not isinstance(items, list):
        raise DqmProtocolError("fLabels is not a THashList with an arr")
    names = [""] * bins
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("fString"), str):
            raise DqmProtocolError(f"a bin label is not a TObjString: {item!r:.60}")
        index = _count(item.get("fUniqueID"), "a bin label's fUniqueID")
        if index > bins:
            raise DqmProtocolError(f"label of bin {index} on an axis of {bins} bins")
        names[index - 1] = item["fString"]
    return names


def _moments(obj: dict[str, Any]) -> tuple[float, float]:
    """ROOT's mean and RMS along x from the stored sums (0, 0 for an empty histogram)."""
    weight = _float(obj.get("fTsumw"), "fTsumw")
    if weight == 0:
        return 0.0, 0.0
    mean = _float(obj.get("fTsumwx"), "fTsumwx") / weight
    spread = _float(obj.get("fTsumwx2"), "fTsumwx2") / weight - mean * mean
    return mean, math.sqrt(max(spread, 0.0))


def hist_from_jsroot(obj: Any, name: str) -> dict[str, Any]:
    """A ``TH1*``/``TH2*`` in ``TBufferJSON`` form, as a jsonfairy-shaped ``hist`` object."""
    if not isinstance(obj, dict) or not isinstance(obj.get("_typename"), str):
        raise DqmProtocolError(f"{name}: the reply is not a ROOT object (no _typename)")
    kind = obj["_typename"]
    if not kind.startswith(("TH1", "TH2", "TProfile")):
        raise DqmProtocolError(f"{name} is a {kind}, not a histogram")
    try:
        xaxis = obj["fXaxis"]
        nx = _count(xaxis["fNbins"], f"{name} fXaxis.fNbins")
        cells = obj["fArray"]
    except (KeyError, TypeError) as exc:
        raise DqmProtocolError(f"{name} lacks fXaxis.fNbins or fArray ({exc!r})") from exc
    two_d = kind.startswith("TH2")
    yaxis = obj.get("fYaxis")
    ny = _count(yaxis.get("fNbins") if isinstance(yaxis, dict) else None, f"{name} fYaxis.fNbins") if two_d else 1
    if not isinstance(cells, list) or len(cells) != (nx + 2) * ((ny + 2) if two_d else 1):
        raise DqmProtocolError(f"{name}: fArray does not hold the {nx}x{ny} bins and their under/overflow")
    numbers = [_float(value, f"{name} bin content") for value in cells]
    if two_d:
        content: list[Any] = [numbers[(nx + 2) * y + 1:(nx + 2) * y + 1 + nx] for y in range(1, ny + 1)]
    else:
        content = numbers[1:nx + 1]
    mean, rms = _moments(obj)
    labels = _labels(xaxis, nx)
    hist: dict[str, Any] = {
        "type": kind, "title": obj.get("fTitle", ""),
        "stats": {"name": obj.get("fName", name), "entries": obj.get("fEntries"),
                  "mean": {"X": {"value": mean, "error": 0.0}}, "rms": {"X": {"value": rms, "error": 0.0}}},
        "xaxis": {"title": xaxis.get("fTitle", "")},
        "bins": {"content": content},
    }
    if labels is not None:
        hist["xaxis"]["labels"] = [{"index": i + 1, "value": label} for i, label in enumerate(labels)]
    return hist
