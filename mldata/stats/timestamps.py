"""How stored profiles write datetimes: ISO-8601 UTC text of epoch nanoseconds, and back.

Apart from mldata.stats.profile so that comparing two stored profiles (mldata.stats.drift) reads
the datetime columns' bounds without pyarrow. (Only those need numpy there; the rest of the
comparison needs neither.)
"""

from __future__ import annotations

import numpy as np


def format_ns(ns: int) -> str:
    """ISO-8601 UTC text of epoch nanoseconds: ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``.

    The fraction keeps only significant digits (``.5``, ``.000001``), and is absent for whole
    seconds.
    """
    text = np.datetime_as_string(np.datetime64(ns, "ns"), unit="ns")
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}Z" if fraction else f"{whole}Z"


def parse_iso_ns(text: str) -> int:
    """Epoch nanoseconds of an ISO-8601 UTC text written by :func:`format_ns`."""
    return int(np.datetime64(text.rstrip("Z"), "ns").astype(np.int64))
