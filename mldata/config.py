"""Loading mldata.yaml: pydantic models, file:line:column errors, and the resolved ProjectSpec.

The YAML is read with ruamel.yaml's round-trip loader, which is safe (no tag constructs Python
objects) and keeps the line and column of every key, so each validation error can point at the
exact place in the file and suggest the nearest valid key.

`load(root)` returns a :class:`mldata.spec.ProjectSpec`. Validation (pydantic + ruamel.yaml, about
130 ms of imports) runs only when mldata.yaml changed: the resolved spec is cached as JSON in
`.mldata/config-cache.json`, keyed by the blake3 of the YAML bytes and the mldata version.
"""

from __future__ import annotations

import json
import os
import typing
from pathlib import Path
from typing import Any

from mldata import __version__
from mldata.errors import ConfigError, Location
from mldata.spec import (
    ALL_STEPS,
    FORMAT_EXTENSIONS,
    Compression,
    Defaults,
    ProjectSpec,
    SourceSpec,
    Step,
    TargetSpec,
    check_compression,
    parse_compression_text,
)

CONFIG_FILE = "mldata.yaml"
STATE_DIR = ".mldata"
_CACHE_FILE = "config-cache.json"
_CACHE_FORMAT = 5


# --------------------------------------------------------------------------------------------
# pydantic models of the YAML (imported lazily: see _models())
# --------------------------------------------------------------------------------------------

_MODELS: dict[str, Any] | None = None


def _models() -> dict[str, Any]:
    """Build the pydantic models on first use (pydantic is not imported on the cached path)."""
    global _MODELS
    if _MODELS is not None:
        return _MODELS

    from typing import Annotated, Literal, Optional, Union

    from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, Tag, field_validator

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class CompressionModel(Strict):
        """A Parquet codec and level: `zstd`, `zstd:9` or `{codec: zstd, level: 9}`."""

        codec: str = Field(description="none, snappy, gzip, brotli, lz4 or zstd")
        level: Optional[int] = Field(None, description="codec level; omitted = codec default")

    def _coerce_compression(value: Any) -> Any:
        if isinstance(value, str):
            try:
                codec, level = parse_compression_text(value)
            except ValueError:
                raise ValueError(f"invalid compression {value!r}: write CODEC or CODEC:LEVEL, e.g. zstd:9")
            return {"codec": codec, "level": level}
        if value is None or value is False:
            return {"codec": "none", "level": None}
        return value

    CompressionField = Annotated[CompressionModel, Field(description="codec or {codec, level}")]

    class DriftDefaults(Strict):
        warn: Optional[float] = Field(None, description="PSI at or above which drift warns (0.1)")
        fail: Optional[float] = Field(None, description="PSI at or above which drift fails (0.25)")

    class DefaultsModel(Strict):
        compression: Optional[CompressionField] = None
        workers: Optional[Union[Literal["auto"], int]] = Field(None, description="auto (one per CPU) or a number")
        executor: Optional[Literal["process", "inline", "dask"]] = None
        progress: Optional[Literal["auto", "rich", "plain", "none"]] = Field(
            None, description="auto: a live display on a terminal, plain lines otherwise")
        color: Optional[Literal["auto", "always", "never"]] = None
        drift: Optional[DriftDefaults] = None

        _c = field_validator("compression", mode="before")(classmethod(lambda cls, v: _coerce_compression(v)))

        @field_validator("workers")
        @classmethod
        def _workers(cls, v: Any) -> Any:
            if isinstance(v, int) and not isinstance(v, bool) and v < 1:
                raise ValueError("workers must be 'auto' or a whole number >= 1")
            return v

    class ReaderOptions(Strict):
        delimiter: Optional[str] = Field(None, description="field separator (csv: ',', tsv: tab)")
        quote_char: Optional[str] = None
        header: bool = Field(True, description="the first row holds the column names")
        column_names: Optional[list[str]] = Field(None, description="names when there is no header")
        null_values: Optional[list[str]] = Field(None, description="strings read as null")
        true_values: Optional[list[str]] = None
        false_values: Optional[list[str]] = None
        column_types: Optional[dict[str, str]] = Field(None, description="column -> type name")
        skip_rows: int = 0
        encoding: str = "utf8"

        @field_validator("delimiter", "quote_char")
        @classmethod
        def _one_char(cls, v: Optional[str]) -> Optional[str]:
            if v is not None and len(v) != 1:
                raise ValueError("must be a single character")
            return v

    class SourceModel(Strict):
        path: str = Field(description="file path or glob, relative to the project")
        format: Optional[Literal["csv", "tsv", "jsonl", "parquet", "arrow", "feather"]] = None
        options: ReaderOptions = ReaderOptions()
        description: Optional[str] = None

    # Steps: each is a one-key mapping, e.g. {filter: "x > 0"}; python steps also take params.
    class DedupeArgs(Strict):
        on: Optional[list[str]] = Field(None, description="key columns; omitted = all columns")

    class SortArgs(Strict):
        by: Union[str, list[str]]
        descending: Union[bool, list[bool]] = False

    class SampleArgs(Strict):
        n: Optional[int] = Field(None, ge=0)
        fraction: Optional[float] = Field(None, ge=0, le=1)
        seed: int = 0

    class SelectStep(Strict):
        select: list[str]

    class DropStep(Strict):
        drop: list[str]

    class RenameStep(Strict):
        rename: dict[str, str]

    class CastStep(Strict):
        cast: dict[str, str]

    class FilterStep(Strict):
        filter: str

    class DeriveStep(Strict):
        derive: dict[str, str]

    class FillNullStep(Strict):
        fill_null: dict[str, Union[bool, int, float, str]]

    class DedupeStep(Strict):
        dedupe: Optional[DedupeArgs] = None

    class SortStep(Strict):
        sort: SortArgs

    class SampleStep(Strict):
        sample: SampleArgs

    class PythonStep(Strict):
        python: str = Field(description="module:function, called per batch or on the whole table")
        params: dict[str, Any] = {}
        row_local: bool = Field(False, description="true: called on each batch of each input file")

    step_models = {
        "select": SelectStep, "drop": DropStep, "rename": RenameStep, "cast": CastStep,
        "filter": FilterStep, "derive": DeriveStep, "fill_null": FillNullStep,
        "dedupe": DedupeStep, "sort": SortStep, "sample": SampleStep, "python": PythonStep,
    }
    assert set(step_models) == ALL_STEPS

    def _step_tag(value: Any) -> Optional[str]:
        if isinstance(value, dict):
            for key in value:
                if key in step_models:
                    return key
        return None

    StepModel = Annotated[
        Union[tuple(Annotated[m, Tag(k)] for k, m in step_models.items())],  # type: ignore[misc]
        Discriminator(_step_tag),
    ]

    class TargetModel(Strict):
        from_: Union[str, list[str]] = Field(alias="from", description="source or target name(s)")
        steps: list[StepModel] = []  # type: ignore[valid-type]
        python: Optional[str] = Field(None, description="module:function applied to the input(s)")
        params: dict[str, Any] = {}
        output: Optional[str] = Field(None, description="output folder; default build/<target>")
        compression: Optional[CompressionField] = None
        schema_: Optional[Union[str, dict[str, Any]]] = Field(
            None, alias="schema", description="pandera schema: a YAML file, or the same mapping inline")
        checks: Optional[dict[str, Any]] = Field(
            None, description="quality checks: duplicates, missing, label_balance, row_count")
        on_breaking: Literal["fail", "warn", "allow"] = Field(
            "fail", description="what a breaking schema change does: fail the build, warn, or allow")
        drift: Optional[dict[str, Any]] = Field(
            None, description="drift settings (docs/metrics.md) and on_fail: warn|fail for make's drift gate")
        format: Literal["parquet", "csv", "jsonl", "arrow", "feather"] = Field(
            "parquet", description="output format; csv, jsonl and arrow write one file per target (or split)")
        split: Optional[dict[str, Any]] = Field(
            None, description="stable splits: {ratios: {train: 0.8, ...}, seed, key, group, stratify}")
        row_group_size: Optional[int] = Field(None, ge=1, description="Parquet rows per row group")
        dictionary: Optional[Union[Literal["auto"], StrictBool, list[str]]] = Field(
            None, description="Parquet dictionary encoding: auto (the default: the columns that repeat their "
                              "values), true (every column), false, or a list of columns")
        profile: Union[StrictBool, list[str]] = Field(
            True, description="the compact profile kept in the lock (drift's baseline): true (every column), "
                              "false (none), or a list of columns")
        description: Optional[str] = None

        _c = field_validator("compression", mode="before")(classmethod(lambda cls, v: _coerce_compression(v)))

    class ProjectModel(Strict):
        version: Literal[1] = 1
        defaults: DefaultsModel = DefaultsModel()
        sources: dict[str, SourceModel] = {}
        targets: dict[str, TargetModel] = {}

    _MODELS = {
        "Project": ProjectModel, "Target": TargetModel, "Source": SourceModel,
        "Defaults": DefaultsModel, "steps": step_models,
    }
    return _MODELS


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mldata.yaml, generated from the pydantic models (for editors)."""
    schema = _models()["Project"].model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mldata.yaml"
    return schema


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def find_root(start: Path) -> Path:
    """The project folder: `start` itself if it holds mldata.yaml, else the nearest parent that does."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {CONFIG_FILE} in {start} or any parent folder",
        hint="run `mldata init` to create one, or pass -C DIR to point at a project",
    )


def load(root: Path, *, use_cache: bool = True) -> ProjectSpec:
    """Load and validate ``root/mldata.yaml`` into a ProjectSpec (from the cache when unchanged)."""
    import blake3

    path = root / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", hint="run `mldata init` to create one") from None
    user_path = user_config_path()
    try:
        user_raw = user_path.read_bytes()
    except OSError:
        user_raw = b""
    key = blake3.blake3(
        raw + f"\0{__version__}\0{_CACHE_FORMAT}\0{root}\0{user_path}\0".encode() + user_raw
    ).hexdigest()
    cache_path = root / STATE_DIR / _CACHE_FILE
    if use_cache:
        try:
            cached = json.loads(cache_path.read_text())
            if cached.get("key") == key:
                return ProjectSpec.from_json(cached["spec"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    spec = parse(raw.decode("utf-8", errors="replace"), root=root)
    try:
        cache_path.parent.mkdir(exist_ok=True)
        tmp = cache_path.with_suffix(f".tmp{os.getpid()}")
        # not sort_keys: mapping order is meaningful (derive runs in order, split ratios are cut in order)
        tmp.write_text(json.dumps({"key": key, "spec": spec.to_json()}))
        os.replace(tmp, cache_path)
    except OSError:
        pass  # a read-only project still works; it just validates every time
    return spec


def parse(text: str, *, root: Path, filename: str = CONFIG_FILE) -> ProjectSpec:
    """Validate YAML text and resolve it into a ProjectSpec; raise ConfigError with a location."""
    from pydantic import ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"duplicate key: {exc.problem}",
            hint="each source, target and setting may appear only once",
            location=Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename),
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc.context}",
            hint="check indentation and quoting around this line",
            location=Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename),
        ) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError("the top level must be a mapping", location=Location(filename, 1, 1))

    models = _models()
    try:
        project = models["Project"].model_validate(_plain(doc))
    except ValidationError as exc:
        raise _config_error(exc, doc, filename) from None
    return _resolve(project, doc, root=root, filename=filename)


def _plain(node: Any) -> Any:
    """ruamel's CommentedMap/Seq as plain dicts and lists (pydantic validates plain data)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (str, int, float, bool)) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if hasattr(node, "__float__") and type(node).__name__ == "ScalarFloat":
        return float(node)
    if type(node).__name__ in ("ScalarBoolean",):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    return node


# --------------------------------------------------------------------------------------------
# error locations and suggestions
# --------------------------------------------------------------------------------------------


def locate(doc: Any, loc: tuple[Any, ...], filename: str) -> Location:
    """The file:line:column of the deepest YAML node that ``loc`` (a pydantic path) reaches.

    Elements of ``loc`` that are not keys of the current mapping are skipped: pydantic inserts
    union tags (e.g. the step kind) into error paths.
    """
    node = doc
    line = col = None
    for elem in loc:
        if isinstance(node, dict) and elem in node:
            try:
                line, col = node.lc.key(elem)
            except (AttributeError, KeyError, TypeError):
                pass
            node = node[elem]
        elif isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node):
            try:
                line, col = node.lc.item(elem)
            except (AttributeError, KeyError, TypeError, IndexError):
                pass
            node = node[elem]
    if line is None:
        return Location(filename)
    return Location(filename, line + 1, col + 1)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys valid in the mapping at ``loc`` (for did-you-mean), walking the model annotations.

    pydantic puts the union tag (the step kind) into error paths right after a step's index;
    it is consumed here as a choice of step model.
    """
    steps = _models()["steps"]
    candidates: list[Any] = [_models()["Project"]]
    for i, elem in enumerate(loc):
        members = [m for tp in candidates for m in _members(tp)]
        if _is_tag(loc, i):
            candidates = [steps[elem]] if elem in steps else []
            continue
        nxt: list[Any] = []
        for m in members:
            origin = typing.get_origin(m)
            if hasattr(m, "model_fields"):
                field = _field_by_name(m, elem)
                if field is not None:
                    nxt.append(field.annotation)
            elif origin is dict:
                nxt.append(typing.get_args(m)[1])
            elif origin is list and isinstance(elem, int):
                nxt.append(typing.get_args(m)[0])
        candidates = nxt
    keys: list[str] = []
    for tp in candidates:
        for m in _members(tp):
            if hasattr(m, "model_fields"):
                keys += [f.alias or name for name, f in m.model_fields.items()]
    return keys


def _is_tag(loc: tuple[Any, ...], i: int) -> bool:
    """pydantic puts a step's kind (the union tag) right after its index in `steps`."""
    return i >= 2 and isinstance(loc[i - 1], int) and loc[i - 2] == "steps" and isinstance(loc[i], str)


def _members(tp: Any) -> list[Any]:
    """A type annotation flattened through Annotated, Optional and Union into its member types."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Union:
        return [m for a in typing.get_args(tp) if a is not type(None) for m in _members(a)]
    return [tp]


def _field_by_name(model: Any, key: Any) -> Any:
    for name, f in model.model_fields.items():
        if key == name or key == f.alias:
            return f
    return None


def suggest(word: str, candidates: list[str]) -> str | None:
    """The nearest candidate to a mistyped word, if any is close."""
    import difflib

    matches = difflib.get_close_matches(str(word), candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _config_error(exc: Any, doc: Any, filename: str) -> ConfigError:
    """Turn a pydantic ValidationError into one ConfigError that lists every problem found."""
    problems: list[tuple[Location, str, str | None]] = []
    for err in _merge_union_members(exc.errors(), doc):
        loc = tuple(err["loc"])
        where = locate(doc, loc, filename)
        dotted = _dotted(loc, doc)
        kind = err["type"]
        hint = None
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = _allowed_keys(loc[:-1])
            near = suggest(str(key), allowed)
            msg = f"unknown key {key!r}" + (f" in {_dotted(loc[:-1])}" if loc[:-1] else "")
            if near:
                hint = f"did you mean {near!r}?"
            elif allowed:
                hint = f"valid keys here: {', '.join(sorted(allowed))}"
        elif kind == "union_tag_not_found" or kind == "union_tag_invalid":
            raw = _node_at(doc, loc)
            keys = list(raw) if isinstance(raw, dict) else []
            step_kinds = sorted(_models()["steps"])
            bad = keys[0] if keys else raw
            msg = f"unknown step {bad!r} in {dotted}"
            near = suggest(str(bad), step_kinds)
            hint = (f"did you mean {near!r}? " if near else "") + f"steps are: {', '.join(step_kinds)}"
        elif kind == "missing":
            msg = f"missing required key {loc[-1]!r}" + (f" in {_dotted(loc[:-1])}" if loc[:-1] else "")
        elif kind == "literal_error" and loc and loc[-1] == "version":
            msg = f"unsupported version {err.get('input')!r}"
            hint = "this mldata reads `version: 1`"
        else:
            msg = f"{dotted}: {err['msg']}"
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        problems.append((where, msg, hint))
    problems.sort(key=lambda p: (p[0].line or 0, p[0].column or 0))
    first_where, first_msg, first_hint = problems[0]
    if len(problems) == 1:
        return ConfigError(first_msg, hint=first_hint, location=first_where)
    lines = [first_msg] + [f"{w}: {m}" + (f" ({h})" if h else "") for w, m, h in problems[1:]]
    return ConfigError(
        "\n".join(lines) + f"\n({len(problems)} problems)", hint=first_hint, location=first_where
    )


def _merge_union_members(errors: list[Any], doc: Any) -> list[Any]:
    """pydantic reports a value that fits no member of a union once per member, the member's label
    (``bool``, ``list[str]``, ...) appended to its path; merge those into one error per value,
    "expected 'auto', a valid boolean or a valid list"."""
    merged: list[Any] = []
    by_value: dict[tuple[Any, ...], dict[str, Any]] = {}
    locs = [tuple(err["loc"]) for err in errors]
    for err, loc in zip(errors, locs):
        member = (len(loc) > 1 and isinstance(loc[-1], str) and not _is_tag(loc, len(loc) - 1)
                  and err["type"] not in ("extra_forbidden", "missing") and not isinstance(_node_at(doc, loc[:-1]), dict))
        if not member:
            merged.append(err)
            continue
        if any(len(other) > len(loc) and other[:len(loc) - 1] == loc[:-1] for other in locs):
            continue  # the value fits a member's shape (a list): the errors inside it say what is wrong
        expected = str(err["msg"]).removeprefix("Input should be ")
        if loc[:-1] in by_value:
            by_value[loc[:-1]]["expected"].append(expected)
            continue
        entry = {**err, "loc": loc[:-1], "expected": [expected]}
        by_value[loc[:-1]] = entry
        merged.append(entry)
    for entry in by_value.values():
        wanted = entry.pop("expected")
        entry["msg"] = "expected " + (", ".join(wanted[:-1]) + " or " + wanted[-1] if len(wanted) > 1 else wanted[0])
    return merged


def _child(node: Any, elem: Any) -> tuple[bool, Any]:
    """One step of a pydantic path into the YAML document: (whether ``elem`` is there, the node)."""
    if isinstance(node, dict) and elem in node:
        return True, node[elem]
    if isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node):
        return True, node[elem]
    return False, node


def _node_at(doc: Any, loc: tuple[Any, ...]) -> Any:
    node = doc
    for elem in loc:
        node = _child(node, elem)[1]
    return node


_MEMBER_LABELS = frozenset({"bool", "int", "float", "str", "list", "dict"})


def _dotted(loc: tuple[Any, ...], doc: Any = None) -> str:
    """A pydantic path as the YAML's dotted key path; given the document, without the labels of
    union members (``list[str]``) that pydantic puts in paths."""
    out = ""
    node = doc
    for i, elem in enumerate(loc):
        if _is_tag(loc, i):
            continue
        found, node = _child(node, elem)
        if doc is not None and not found and isinstance(elem, str) and ("[" in elem or elem in _MEMBER_LABELS):
            continue
        if isinstance(elem, int):
            out += f"[{elem}]"
        else:
            out += ("." if out else "") + str(elem)
    return out or "the top level"


# --------------------------------------------------------------------------------------------
# resolution: models -> ProjectSpec, with the cross-cutting checks pydantic cannot do
# --------------------------------------------------------------------------------------------


def _resolve(project: Any, doc: Any, *, root: Path, filename: str) -> ProjectSpec:
    def where(*loc: Any) -> Location:
        return locate(doc, loc, filename)

    defaults = _defaults(project.defaults, where)

    names_seen: dict[str, str] = {}
    sources: dict[str, SourceSpec] = {}
    for name, src in project.sources.items():
        _check_name(name, where("sources", name))
        names_seen[name] = "source"
        path = src.path.replace("\\", "/")
        _check_inside(root, path, where("sources", name, "path"), what="source path")
        fmt = src.format
        if fmt == "feather":
            fmt = "arrow"
        if fmt is None and not any(ch in path for ch in "*?[") and infer_format(path) is None:
            raise ConfigError(
                f"cannot tell the format of {path!r} from its extension",
                hint=f"add `format:` to source {name!r} (csv, tsv, jsonl, parquet, arrow)",
                location=where("sources", name, "path"),
            )
        options = src.options.model_dump(exclude_defaults=True)
        for col, type_name in (src.options.column_types or {}).items():
            _check_type_name(type_name, where("sources", name, "options", "column_types", col))
        sources[name] = SourceSpec(name=name, path=path, format=fmt, options=options, where=where("sources", name))

    targets: dict[str, TargetSpec] = {}
    outputs: dict[str, str] = {}
    for name, tgt in project.targets.items():
        loc = where("targets", name)
        _check_name(name, loc)
        if name in names_seen:
            raise ConfigError(
                f"target {name!r} has the same name as a source",
                hint="sources and targets share one namespace: rename one of them",
                location=loc,
            )
        names_seen[name] = "target"
        inputs = (tgt.from_,) if isinstance(tgt.from_, str) else tuple(tgt.from_)
        if not inputs:
            raise ConfigError(f"target {name!r} has no inputs", hint="set `from:`", location=where("targets", name, "from"))
        if len(inputs) > 1 and tgt.python is None:
            raise ConfigError(
                f"target {name!r} has {len(inputs)} inputs but no `python:` function to combine them",
                hint="add `python: module:function`; it receives a dict of input name -> pyarrow Table",
                location=where("targets", name, "from"),
            )
        steps = tuple(_step(s) for s in tgt.steps)
        for i, step in enumerate(steps):
            _check_step(step, where("targets", name, "steps", i, step.kind))
            if step.kind == "python":
                _check_function_ref(step.args, root, where("targets", name, "steps", i, "python"))
        if tgt.python is not None:
            _check_function_ref(tgt.python, root, where("targets", name, "python"))
        output = (tgt.output or f"build/{name}").replace("\\", "/").rstrip("/")
        _check_inside(root, output, where("targets", name, "output") if tgt.output else loc, what="output")
        norm_out = os.path.normpath(output)
        for other_out, other in outputs.items():
            if norm_out == other_out or norm_out.startswith(other_out + os.sep) or other_out.startswith(norm_out + os.sep):
                raise ConfigError(
                    f"targets {other!r} and {name!r} write to the same or overlapping output folders",
                    hint="give each target its own `output:` folder",
                    location=where("targets", name, "output") if tgt.output else loc,
                )
        outputs[norm_out] = name
        schema_file = schema_inline = None
        if isinstance(tgt.schema_, str):
            schema_file = tgt.schema_
            _check_inside(root, schema_file, where("targets", name, "schema"), what="schema file")
            if not (root / schema_file).is_file():
                raise ConfigError(
                    f"schema file {schema_file!r} does not exist",
                    hint="create it (e.g. with `mldata schema infer`) or fix the path",
                    location=where("targets", name, "schema"),
                )
            _check_schema(root, schema_file, None, where("targets", name, "schema"))
        elif tgt.schema_ is not None:
            schema_inline = dict(tgt.schema_)
            _check_schema(root, None, schema_inline, where("targets", name, "schema"))
        split = None
        if tgt.split is not None:
            split = _split(tgt.split, where("targets", name, "split"))
        fmt = "arrow" if tgt.format == "feather" else tgt.format
        if tgt.compression is not None:
            _check_format_compression(fmt, tgt.compression.codec, tgt.compression.level,
                                      where("targets", name, "compression"))
        drift = None
        if tgt.drift is not None:
            drift = dict(tgt.drift)
            drift_config(spec_defaults=defaults, target_drift=drift, where=where("targets", name, "drift"))
        if tgt.checks is not None:
            from mldata.validate import validate_checks_config

            try:
                validate_checks_config(tgt.checks)
            except ConfigError as exc:
                raise ConfigError(exc.message, hint=exc.hint, location=where("targets", name, "checks")) from None
        profile = _profile_setting(tgt.profile, where("targets", name, "profile"))
        targets[name] = TargetSpec(
            name=name,
            inputs=inputs,
            steps=steps,
            python=tgt.python,
            params=dict(tgt.params),
            output=output,
            compression=_compression(tgt.compression, where("targets", name, "compression")),
            schema=schema_file,
            schema_inline=schema_inline,
            checks=dict(tgt.checks) if tgt.checks is not None else None,
            on_breaking=tgt.on_breaking,
            drift=drift,
            format=fmt,
            split=split,
            row_group_size=tgt.row_group_size,
            dictionary=tgt.dictionary,
            profile=profile,
            where=loc,
        )

    # Inputs must name declared sources or targets.
    all_names = list(sources) + list(targets)
    for name, tgt in targets.items():
        for i, inp in enumerate(tgt.inputs):
            if inp not in names_seen:
                near = suggest(inp, all_names)
                raise ConfigError(
                    f"target {name!r} reads {inp!r}, which is neither a source nor a target",
                    hint=(f"did you mean {near!r}? " if near else "") + f"declared: {', '.join(all_names) or 'none'}",
                    location=where("targets", name, "from", i) if not isinstance(doc["targets"][name]["from"], str)
                    else where("targets", name, "from"),
                )
            if inp == name:
                raise ConfigError(f"target {name!r} reads itself", location=where("targets", name, "from"))
    user_path = user_config_path()
    user_defaults = Defaults()
    if user_path.is_file():
        user_defaults = parse_user_config(user_path.read_text(), str(user_path))
    spec = ProjectSpec(
        root=str(root), config_file=filename, defaults=defaults, sources=sources, targets=targets,
        user_defaults=user_defaults, user_config=str(user_path) if user_path.is_file() else None,
    )
    from mldata.graph import Graph

    Graph.from_spec(spec)  # raises on cycles
    return spec


def _defaults(model: Any, where: Any) -> Defaults:
    drift = model.drift
    return Defaults(
        compression=_compression(model.compression, where("defaults", "compression")),
        workers=model.workers,
        executor=model.executor,
        progress=model.progress,
        color=model.color,
        drift_warn=drift.warn if drift else None,
        drift_fail=drift.fail if drift else None,
    )


def _split(raw: dict[str, Any], where: Location) -> dict[str, Any]:
    from mldata.split import check_split_config

    unknown = sorted(set(raw) - {"ratios", "seed", "key", "group", "stratify"})
    if unknown:
        near = suggest(unknown[0], ["ratios", "seed", "key", "group", "stratify"])
        raise ConfigError(f"unknown key {unknown[0]!r} in split", location=where,
                          hint=f"did you mean {near!r}?" if near else "keys: ratios, seed, key, group, stratify")
    if "ratios" not in raw:
        raise ConfigError("split needs `ratios`, e.g. {train: 0.8, val: 0.1, test: 0.1}", location=where)
    split = {"ratios": dict(raw["ratios"]), "seed": raw.get("seed", 0), "key": raw.get("key"),
             "group": raw.get("group"), "stratify": raw.get("stratify")}
    try:
        check_split_config(split["ratios"], split["seed"], split["key"], split["group"], split["stratify"],
                           location=where)
    except ConfigError as exc:
        raise ConfigError(exc.message, hint=exc.hint, location=exc.location or where) from None
    return split


def _profile_setting(value: bool | list[str], where: Location) -> bool | tuple[str, ...]:
    """A target's `profile:`: True, False, or a tuple of distinct column names."""
    if isinstance(value, bool):
        return value
    if not value:
        raise ConfigError("`profile: []` profiles no column", hint="write `profile: false` to keep no profile",
                          location=where)
    repeated = sorted({c for c in value if value.count(c) > 1})
    if repeated:
        raise ConfigError(f"`profile:` names {repeated} more than once", hint="name each column once",
                          location=where)
    return tuple(value)


def _check_format_compression(fmt: str, codec: str, level: int | None, where: Location) -> None:
    from mldata.writers import check_format_compression

    problem = check_format_compression(fmt, codec, level)
    if problem:
        raise ConfigError(problem, location=where)


def drift_config(*, spec_defaults: Defaults | None = None, user_defaults: Defaults | None = None,
                 target_drift: dict[str, Any] | None = None, where: Location | None = None) -> Any:
    """The DriftConfig of a target: built-in thresholds, then the user's and the project's
    `defaults.drift` (warn/fail PSI), then the target's own `drift:` mapping. A bad mapping is a
    ConfigError at ``where``."""
    from mldata.stats.drift import DriftConfig

    raw: dict[str, Any] = {}
    for layer in (user_defaults, spec_defaults):
        if layer is not None:
            if layer.drift_warn is not None:
                raw["warn"] = layer.drift_warn
            if layer.drift_fail is not None:
                raw["fail"] = layer.drift_fail
    target = {k: v for k, v in (target_drift or {}).items() if k != "on_fail"}
    on_fail = (target_drift or {}).get("on_fail", "warn")
    if on_fail not in ("warn", "fail"):
        raise ConfigError(f"drift.on_fail must be warn or fail, not {on_fail!r}", location=where)
    try:
        return DriftConfig.from_mapping({**raw, **target})
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"invalid drift settings: {exc}", hint="see docs/metrics.md", location=where) from None


def user_config_path() -> Path:
    """The user's global config: $XDG_CONFIG_HOME/mldata/config.yaml, else ~/.config/mldata/config.yaml."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mldata" / "config.yaml"


def parse_user_config(text: str, filename: str) -> Defaults:
    """The `defaults:` of the user's config file (the same keys as in mldata.yaml)."""
    from pydantic import BaseModel, ConfigDict, ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    models = _models()

    class UserConfig(BaseModel):
        model_config = ConfigDict(extra="forbid")
        defaults: models["Defaults"] = models["Defaults"]()  # type: ignore[valid-type]

    try:
        doc = YAML(typ="rt").load(text) or {}
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(f"invalid YAML: {exc.problem}",
                          location=Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename))
    try:
        user = UserConfig.model_validate(_plain(doc))
    except ValidationError as exc:
        raise _config_error(exc, doc, filename) from None
    return _defaults(user.defaults, lambda *loc: locate(doc, loc, filename))


def _step(model: Any) -> Step:
    data = model.model_dump(by_alias=True, exclude_none=False)
    if "python" in data:
        return Step(kind="python", args=data["python"], params=dict(data["params"]), row_local=bool(data["row_local"]))
    (kind, args), = [(k, v) for k, v in data.items()]
    if kind == "dedupe":
        args = {"on": (args or {}).get("on")}
    elif kind == "sort":
        by = args["by"]
        args = {"by": [by] if isinstance(by, str) else list(by), "descending": args["descending"]}
    return Step(kind=kind, args=args)


def _check_step(step: Step, where: Location) -> None:
    """Parse expressions and type names now, so a typo fails before anything runs."""
    if step.kind == "python":
        return  # checked by _check_function_ref
    try:
        from mldata.steps.builtin import validate_step_params
    except ImportError:  # pragma: no cover - the steps package is part of mldata
        return
    try:
        validate_step_params(step.kind, step.args)
    except ConfigError as exc:
        raise ConfigError(exc.message, hint=exc.hint, location=where) from None


def _check_schema(root: Path, path: str | None, inline: dict[str, Any] | None, where: Location) -> None:
    """Load the pandera schema now, so a mistake in it is a config error (exit 2) before any work."""
    from mldata.validate import load_schema

    try:
        load_schema(root / path if path else None, inline=inline, label=path or f"{where}")
    except ConfigError as exc:
        if exc.location is None:
            raise ConfigError(exc.message, hint=exc.hint, location=where) from None
        raise


def _check_type_name(name: str, where: Location) -> None:
    try:
        from mldata.steps.types import is_valid_type_name, KNOWN_TYPE_NAMES
    except ImportError:  # pragma: no cover
        return
    if not is_valid_type_name(name):
        near = suggest(name, sorted(KNOWN_TYPE_NAMES))
        raise ConfigError(
            f"unknown type {name!r}",
            hint=(f"did you mean {near!r}? " if near else "") + "see docs/expressions.md for type names",
            location=where,
        )


def _check_function_ref(ref: str, root: Path, where: Location) -> None:
    module, sep, func = ref.partition(":")
    if not sep or not module or not func.isidentifier():
        raise ConfigError(
            f"invalid python function reference {ref!r}",
            hint="write `module.path:function`, e.g. `pipelines.features:build`",
            location=where,
        )
    from mldata.fingerprint import module_file

    if module_file(module, root) is None:
        raise ConfigError(
            f"python module {module!r} not found",
            hint=f"put it at {module.replace('.', '/')}.py in the project, or install it",
            location=where,
        )


def _compression(model: Any, where: Location) -> Compression | None:
    if model is None:
        return None
    problem = check_compression(model.codec, model.level)
    if problem:
        raise ConfigError(problem, location=where)
    return Compression(model.codec, model.level)


def _check_name(name: str, where: Location) -> None:
    if not name or "/" in name or "\\" in name or name.startswith(".") or any(c in name for c in "+:*? "):
        raise ConfigError(
            f"invalid name {name!r}",
            hint="use letters, digits, '_' and '-' (no '/', ':', '+', spaces)",
            location=where,
        )


def _check_inside(root: Path, rel: str, where: Location, *, what: str) -> None:
    if os.path.isabs(rel) and what != "source path":
        raise ConfigError(f"{what} {rel!r} must be relative to the project", location=where)
    full = os.path.normpath(os.path.join(str(root), rel))
    if what == "source path":
        return  # sources may live in a shared folder outside the project
    if not (full == str(root) or full.startswith(str(root) + os.sep)) or full == str(root):
        raise ConfigError(
            f"{what} {rel!r} is outside the project folder",
            hint="outputs and schema files must stay inside the project",
            location=where,
        )
    first = os.path.relpath(full, str(root)).split(os.sep)[0]
    if what == "output" and first in (STATE_DIR, ".git"):
        raise ConfigError(f"{what} {rel!r} is inside {first}/, which mldata and git own", location=where)


def infer_format(path: str) -> str | None:
    """The source format implied by a file name (``a.csv.gz`` -> csv), or None."""
    lower = path.lower()
    for suffix in (".gz", ".zst", ".bz2"):
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
            break
    _, ext = os.path.splitext(lower)
    return FORMAT_EXTENSIONS.get(ext)
