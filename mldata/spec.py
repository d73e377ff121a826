"""The resolved project: what mldata.yaml means, as plain frozen values.

`config.py` validates the YAML with pydantic and resolves it into these dataclasses; every other
module consumes only these. They are deliberately plain (no pydantic, no pyarrow) because:

* they are pickled into worker processes with every task, and must be cheap and stable there;
* `config.load` caches them as JSON in `.mldata/`, so a no-op `mldata make` does not pay for
  importing pydantic and ruamel.yaml (about 130 ms together, most of the no-op budget).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mldata.errors import Location

# Bump when the meaning of a built-in step or reader changes: every fingerprint includes it, so
# all targets rebuild once after an upgrade that changes what the same recipe produces.
STEP_SEMANTICS_VERSION = 1

#: Step kinds that transform each row on its own, so they can run per input file and per batch.
ROW_LOCAL_STEPS = frozenset({"select", "drop", "rename", "cast", "filter", "derive", "fill_null"})
#: Step kinds that need the whole table.
GLOBAL_STEPS = frozenset({"dedupe", "sort", "sample"})
ALL_STEPS = ROW_LOCAL_STEPS | GLOBAL_STEPS | {"python"}

#: Source formats mldata reads, and the file extensions that imply them.
FORMAT_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
#: Compressed-text suffixes readable for csv/tsv/jsonl (decompressed while streaming).
TEXT_COMPRESSION_SUFFIXES = (".gz", ".zst", ".bz2")

#: Parquet codecs and their valid compression levels (None: the codec takes no level).
PARQUET_CODEC_LEVELS: dict[str, tuple[int, int] | None] = {
    "none": None,
    "snappy": None,
    "gzip": (1, 9),
    "brotli": (0, 11),
    "lz4": (1, 12),
    "zstd": (1, 22),
}
DEFAULT_COMPRESSION = ("zstd", None)


@dataclass(frozen=True)
class Compression:
    """A Parquet codec and optional level (None = the codec's default)."""

    codec: str = "zstd"
    level: int | None = None

    def __str__(self) -> str:
        return self.codec if self.level is None else f"{self.codec}:{self.level}"

    def to_json(self) -> dict[str, Any]:
        return {"codec": self.codec, "level": self.level}


@dataclass(frozen=True)
class Step:
    """One step of a target: a kind (e.g. "filter") and its arguments as written in YAML."""

    kind: str
    args: Any
    #: For python steps: the function's parameters and whether it runs per batch.
    params: dict[str, Any] = field(default_factory=dict)
    row_local: bool = False

    @property
    def is_row_local(self) -> bool:
        return self.kind in ROW_LOCAL_STEPS or (self.kind == "python" and self.row_local)

    def to_json(self) -> dict[str, Any]:
        """The step as recipe data. Mappings whose order matters become lists of pairs, because
        recipes are hashed as canonical JSON with sorted keys."""
        if self.kind == "derive":
            return {"derive": [[k, v] for k, v in self.args.items()]}
        out: dict[str, Any] = {self.kind: self.args}
        if self.kind == "python":
            out["params"] = self.params
            out["row_local"] = self.row_local
        return out


@dataclass(frozen=True)
class SourceSpec:
    """A declared source: a glob of files in one format, read with the given options."""

    name: str
    path: str  # glob, relative to the project root, forward slashes
    format: str | None  # None: inferred per file from its extension
    options: dict[str, Any]
    where: Location

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "options": self.options}


@dataclass(frozen=True)
class TargetSpec:
    """A declared target: inputs, the transformation recipe, and where and how it is written."""

    name: str
    inputs: tuple[str, ...]
    steps: tuple[Step, ...]
    python: str | None  # "module:function" applied to the input(s) before the steps
    params: dict[str, Any]
    output: str  # folder relative to the project root
    compression: Compression | None  # None: the project default
    schema: str | None  # pandera schema file relative to the project root
    where: Location
    schema_inline: dict[str, Any] | None = None  # or the pandera schema given inline
    checks: dict[str, Any] | None = None  # quality checks (see mldata.validate.run_checks)
    on_breaking: str = "fail"  # fail | warn | allow: what a breaking schema change does
    drift: dict[str, Any] | None = None  # drift settings (+ on_fail: warn|fail for make's gate)
    format: str = "parquet"  # parquet, csv, jsonl, arrow
    split: dict[str, Any] | None = None  # {ratios, seed, key, group, stratify} (mldata.split)
    row_group_size: int | None = None
    dictionary: bool | str | list[str] | None = None  # None or "auto": writers.auto_dictionary
    profile: bool | tuple[str, ...] = True  # the lock profile: every column, none, or these columns

    @property
    def partitioned(self) -> bool:
        """A single-input target without a whole-table function is built one part per input file."""
        return len(self.inputs) == 1 and self.python is None

    @property
    def prefix_len(self) -> int:
        """How many leading steps are row-local (run per input file, cached per part)."""
        if not self.partitioned:
            return 0
        n = 0
        for step in self.steps:
            if not step.is_row_local:
                break
            n += 1
        return n

    @property
    def has_global_suffix(self) -> bool:
        """Partitioned, but finished as a whole: global steps, a split, or a one-file format."""
        return self.partitioned and (self.prefix_len < len(self.steps) or self.split is not None
                                     or self.format != "parquet")


@dataclass(frozen=True)
class Defaults:
    """The `defaults:` of mldata.yaml (or of the user's config file). None: not set there."""

    compression: Compression | None = None
    workers: int | str | None = None  # a number, "auto" (one per CPU), or None (not set)
    executor: str | None = None
    progress: str | None = None
    color: str | None = None
    drift_warn: float | None = None
    drift_fail: float | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["compression"] = self.compression.to_json() if self.compression else None
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> "Defaults":
        d = dict(d)
        d["compression"] = Compression(**d["compression"]) if d.get("compression") else None
        return Defaults(**d)


@dataclass(frozen=True)
class ProjectSpec:
    """Everything mldata.yaml says, resolved, with names in declaration order."""

    root: str  # absolute path of the project folder (never written to the lock)
    config_file: str  # the YAML file, relative to root
    defaults: Defaults
    sources: dict[str, SourceSpec]
    targets: dict[str, TargetSpec]
    user_defaults: Defaults = Defaults()  # from the user's config file (below the project's)
    user_config: str | None = None  # that file's path, if it exists

    def compression_for(self, target: TargetSpec, override: Compression | None = None) -> Compression:
        """The effective compression: the run's flag (or MLDATA_COMPRESSION), else the target's,
        else the project default, else the user's default, else zstd."""
        return (override or target.compression or self.defaults.compression or self.user_defaults.compression
                or Compression(*DEFAULT_COMPRESSION))

    # --- JSON round trip (used by the config cache) ---------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["defaults"] = self.defaults.to_json()
        data["user_defaults"] = self.user_defaults.to_json()
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> "ProjectSpec":
        defaults = Defaults.from_json(data["defaults"])
        sources = {
            name: SourceSpec(
                name=s["name"], path=s["path"], format=s["format"], options=s["options"],
                where=Location(**s["where"]),
            )
            for name, s in data["sources"].items()
        }
        targets = {
            name: TargetSpec(
                name=t["name"],
                inputs=tuple(t["inputs"]),
                steps=tuple(Step(**s) for s in t["steps"]),
                python=t["python"],
                params=t["params"],
                output=t["output"],
                compression=Compression(**t["compression"]) if t["compression"] else None,
                schema=t["schema"],
                where=Location(**t["where"]),
                schema_inline=t.get("schema_inline"),
                checks=t.get("checks"),
                on_breaking=t.get("on_breaking", "fail"),
                drift=t.get("drift"),
                format=t.get("format", "parquet"),
                split=t.get("split"),
                row_group_size=t.get("row_group_size"),
                dictionary=t.get("dictionary"),
                profile=tuple(t["profile"]) if isinstance(t.get("profile"), list) else t.get("profile", True),
            )
            for name, t in data["targets"].items()
        }
        return ProjectSpec(
            root=data["root"], config_file=data["config_file"], defaults=defaults,
            sources=sources, targets=targets, user_defaults=Defaults.from_json(data["user_defaults"]),
            user_config=data.get("user_config"),
        )


def parse_compression_text(text: str) -> tuple[str, int | None]:
    """Split ``"zstd:9"`` into ("zstd", 9); no validation of the pair."""
    codec, _, level = text.partition(":")
    codec = codec.strip().lower()
    if codec in ("uncompressed", "off"):
        codec = "none"
    if level.strip() == "":
        return codec, None
    return codec, int(level)


def check_compression(codec: str, level: int | None) -> str | None:
    """Return an error message if the codec/level pair is invalid for Parquet, else None."""
    if codec not in PARQUET_CODEC_LEVELS:
        return f"unknown compression codec {codec!r}; valid codecs: {', '.join(PARQUET_CODEC_LEVELS)}"
    valid = PARQUET_CODEC_LEVELS[codec]
    if level is None:
        return None
    if valid is None:
        return f"codec {codec!r} takes no compression level (got {level})"
    lo, hi = valid
    if not lo <= level <= hi:
        return f"compression level {level} is out of range for {codec!r}: valid levels are {lo}..{hi}"
    return None
