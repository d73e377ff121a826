"""Column profiles and drift metrics: the pure computational core.

Definitions (normative) are in docs/metrics.md. ``profile`` streams Arrow record batches into
per-column statistics and the compact lockfile summary; ``drift`` compares a baseline (raw values
or a stored summary) with current data. This package imports numpy, scipy and pyarrow: keep it off
the planning path (import it lazily).
"""

from mldata.stats.drift import (
    CategoryCounts,
    ColumnDrift,
    ColumnSettings,
    CountDrift,
    DriftConfig,
    Severity,
    Thresholds,
    baseline_bins_from_summary,
    drift_batches,
    drift_categorical,
    drift_numeric_raw,
    drift_numeric_vs_summary,
    drift_profiles,
)
from mldata.stats.profile import (
    collect_columns,
    compact_profile,
    profile_batches,
    profile_column,
    profile_columns,
)

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
