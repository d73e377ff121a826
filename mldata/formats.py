"""Version numbers of the profile formats mldata stores, importable without numpy or pyarrow.

The finishing task looks a merged profile up in the cache by a key that includes them, before it
knows whether it needs the profiling code (mldata.stats, which imports numpy and pyarrow:
a third of a second). Bump them here; mldata.stats re-exports them.
"""

#: Version of the metric definitions (docs/metrics.md); stored with every profile so a change is
#: detectable.
METRICS_VERSION = 1
#: Version of the on-disk format of a partial profile (a part's sidecar). Readers reject others
#: (a cache treats that as a miss and recomputes the part's profile).
PARTIAL_FORMAT_VERSION = 3
#: R: number of quantile steps behind a stored ``drift_summary`` (docs/metrics.md §3.2). Drift
#: ``bins`` must divide it.
SUMMARY_RESOLUTION = 100
