"""The quality watch's numbers of outputs no DQM summary describes, read from their upload's CondDB rows.

Only a run's own upload counts (``attribution`` says whose an IOV is: one the upload service moved
onto this run's since may be an earlier run's). For each since the newest IOV is the one prompt
reconstruction would read; its payload's size is what ``payload_bytes`` averages.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from spyagency.core.models import AttributedUpload, Attribution, Upload
from spyagency.policy import QualityWatch


def current_iovs(own: Sequence[AttributedUpload]) -> list[Upload]:
    """The run's own IOVs, the newest at each since."""
    newest: dict[int, Upload] = {}
    for item in own:
        if item.attribution is not Attribution.OWN:
            continue
        upload = item.upload
        if upload.since not in newest or upload.inserted_at > newest[upload.since].inserted_at:
            newest[upload.since] = upload
    return [newest[since] for since in sorted(newest)]


def upload_values(watch: QualityWatch, iovs: Sequence[Upload], sizes: Mapping[str, int]) -> dict[str, float] | None:
    """The numbers ``watch`` reads from a run's current IOVs; None when there are none or a payload's
    size is not known (the numbers are then unknown, never guessed)."""
    if not iovs or any(iov.payload_hash not in sizes for iov in iovs):
        return None
    values: dict[str, float] = {}
    for feature in watch.uploads:
        name, _group = feature.names()[0]
        values[name] = statistics.fmean(sizes[iov.payload_hash] for iov in iovs)
    return values
