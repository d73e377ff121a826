"""Column profiles and drift metrics: the pure computational core.

Definitions (normative) are in docs/metrics.md. ``profile`` streams Arrow record batches into
per-column statistics and the compact lockfile summary; ``drift`` compares a baseline (raw values
or a stored summary) with current data.

The modules import numpy, and most of them pyarrow: keep them off the planning path. The names
below are loaded on first use (PEP 562), so that importing a light module (``mldata.stats.drift``
to compare stored profiles, as make's drift gate does) does not import the profiler and pyarrow.
"""

_MODULES = {
    "CategoryCounts": "drift",
    "ColumnDrift": "drift",
    "ColumnSettings": "drift",
    "CountDrift": "drift",
    "DriftConfig": "drift",
    "Severity": "drift",
    "Thresholds": "drift",
    "baseline_bins_from_summary": "drift",
    "collect_columns": "profile",
    "compact_profile": "profile",
    "drift_batches": "drift",
    "drift_categorical": "drift",
    "drift_numeric_raw": "drift",
    "drift_numeric_vs_summary": "drift",
    "drift_profiles": "drift",
    "profile_batches": "profile",
    "profile_column": "profile",
    "profile_columns": "profile",
}


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"mldata.stats.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CategoryCounts",
    "ColumnDrift",
    "ColumnSettings",
    "CountDrift",
    "DriftConfig",
    "Severity",
    "Thresholds",
    "baseline_bins_from_summary",
    "collect_columns",
    "compact_profile",
    "drift_batches",
    "drift_categorical",
    "drift_numeric_raw",
    "drift_numeric_vs_summary",
    "drift_profiles",
    "profile_batches",
    "profile_column",
    "profile_columns",
]
