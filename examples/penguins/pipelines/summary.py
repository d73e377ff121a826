"""Per-species, per-island summary of the cleaned penguins (an example mldata python step)."""

import pyarrow as pa
import pyarrow.compute as pc


def by_species(table: pa.Table, min_count: int = 1) -> pa.Table:
    """Count, mean body mass and mean bill ratio per species and island (groups of min_count+)."""
    grouped = table.group_by(["species", "island"]).aggregate(
        [("body_mass_kg", "count"), ("body_mass_kg", "mean"), ("bill_ratio", "mean")]
    )
    grouped = grouped.filter(pc.greater_equal(grouped["body_mass_kg_count"], min_count))
    return grouped.sort_by([("species", "ascending"), ("island", "ascending")])
