"""blake3 digests: of files, of recipes (canonical JSON), of user code, and of logical table data.

Every digest is a lowercase hex string of blake3's 256-bit output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import blake3

#: Files at least this large are hashed with blake3's multi-threaded mode.
THREADED_MIN_BYTES = 16 << 20


def canonical_json(obj: Any) -> bytes:
    """The canonical encoding that recipe digests are taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_json(obj: Any) -> str:
    """blake3 of the canonical JSON of a value."""
    return blake3.blake3(canonical_json(obj)).hexdigest()


def digest_bytes(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


#: Files up to this size are read into memory: mapping a small file costs more (page faults)
#: than copying it (a 500 KB CSV: ~0.25 ms read and hashed, ~0.3-0.5 ms mapped).
_READ_MAX_BYTES = 1 << 20

#: Larger files are memory-mapped a window at a time, so hashing a file larger than the
#: address space allowed to the process (or than RAM) still works.
_MMAP_WINDOW = 64 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """blake3 of a file's bytes: read if small, else memory-mapped; multi-threaded for large files."""
    size = os.path.getsize(path)
    if size == 0:
        return blake3.blake3().hexdigest()
    if size <= _READ_MAX_BYTES:
        with open(path, "rb", buffering=0) as fh:
            return blake3.blake3(fh.read()).hexdigest()
    threads = blake3.blake3.AUTO if size >= THREADED_MIN_BYTES else 1
    hasher = blake3.blake3(max_threads=threads)
    if size <= _MMAP_WINDOW:
        hasher.update_mmap(os.fspath(path))
        return hasher.hexdigest()
    import mmap

    with open(path, "rb") as fh:
        offset = 0
        while offset < size:
            length = min(_MMAP_WINDOW, size - offset)
            with mmap.mmap(fh.fileno(), length, access=mmap.ACCESS_READ, offset=offset) as window:
                hasher.update(window)
            offset += length
    return hasher.hexdigest()


# --------------------------------------------------------------------------------------------
# user code
# --------------------------------------------------------------------------------------------


def module_file(module: str, root: Path) -> Path | None:
    """The source file of a dotted module: project-local first, else an installed module's file."""
    rel = Path(*module.split("."))
    for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def code_digests(module: str, root: Path) -> dict[str, str]:
    """Digests of a user module and of every project-local module it imports, transitively.

    Imports are found by static analysis (ast), so nothing is executed. Keys are paths relative to
    the project root with forward slashes; a module outside the project is keyed by its module name.
    """
    out: dict[str, str] = {}
    start = module_file(module, root)
    if start is None:
        return out
    stack: list[tuple[Path, str]] = [(start, module)]
    seen: set[Path] = set()
    while stack:
        path, name = stack.pop()
        path = path.resolve()
        if path in seen:
            continue
        seen.add(path)
        try:
            rel = path.relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = f"<module {name}>"
        out[rel] = file_digest(path)
        if not rel.startswith("<"):
            for imported in _imports(path, name):
                found = _local_module_file(imported, root)
                if found is not None:
                    stack.append((found, imported))
    return dict(sorted(out.items()))


def _local_module_file(module: str, root: Path) -> Path | None:
    rel = Path(*module.split("."))
    for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> Iterable[str]:
    """Dotted names a module imports (absolute, and relative ones resolved against its package)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return []
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base_parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                names.append(base)
                names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    # a.b.c also imports packages a and a.b
    expanded: list[str] = []
    for n in names:
        parts = n.split(".")
        expanded += [".".join(parts[: i + 1]) for i in range(len(parts))]
    return expanded


# --------------------------------------------------------------------------------------------
# logical table data
# --------------------------------------------------------------------------------------------

#: Rows per canonical batch. Data digests are taken over batches of exactly this many rows, so
#: the digest does not depend on how a reader happened to chunk the data.
CANONICAL_BATCH_ROWS = 65536


class DataHasher:
    """blake3 of a table's logical content: its schema (without metadata) and its values.

    Fed record batches of exactly CANONICAL_BATCH_ROWS rows (the last may be shorter), it hashes
    each batch's Arrow IPC encoding, which is independent of the file format and compression the
    data is later written with. (Values under null slots are part of the IPC bytes; mldata's own
    readers and steps produce them deterministically, so equal inputs give equal digests.)
    """

    def __init__(self, schema: Any) -> None:
        self._hasher = blake3.blake3()
        self._hasher.update(schema.remove_metadata().serialize())
        self.rows = 0

    def update(self, batch: Any) -> None:
        # pyarrow Buffers expose the buffer protocol: blake3 reads them without a copy
        if batch.num_rows:
            self._hasher.update(batch.serialize())
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def combine_digests(items: dict[str, str]) -> str:
    """One digest for a set of named digests (order-independent: keys are sorted)."""
    return digest_json(sorted(items.items()))
