"""A small binary file: a JSON header followed by raw buffers.

Used for the sidecar of a cached part (its rows, hashes, schema and partial profile, see
``build.py``) and for saved partial profiles (``stats/partial.py``). Why not Arrow IPC: the
header must be readable without importing pyarrow or numpy (the scheduler reads the sidecars of
cached parts), and building list arrays for IPC cost more than the profile it stored (~2 ms a
part). Layout, all integers little-endian::

    MAGIC (8 bytes) | header length H (u64) | header: H bytes of UTF-8 JSON | zero padding to a
    multiple of ALIGN | buffer 0 | padding to a multiple of ALIGN | buffer 1 | ...

The header's ``"buffers"`` key lists ``[offset, length]`` of every buffer, offsets counted from
the end of the header's padding and multiples of ALIGN (so numpy views of them are aligned). A
file is written to a temporary name and renamed into place, so a reader sees it whole or not at
all.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAGIC = b"MLDBLOB1"
ALIGN = 64
_PREFIX = struct.Struct("<8sQ")


class BlobError(ValueError):
    """The file is not a blob (or is damaged)."""


def write(path: Path | str, header: dict[str, Any], buffers: Sequence[Any] = ()) -> None:
    """Write ``header`` (JSON-able, without a ``buffers`` key) and ``buffers`` (bytes-like:
    bytes, memoryview, C-contiguous numpy arrays) to ``path`` atomically."""
    views = [memoryview(b).cast("B") for b in buffers]
    spans, offset = [], 0
    for v in views:
        spans.append([offset, len(v)])
        offset = _aligned(offset + len(v))
    raw = json.dumps({**header, "buffers": spans}, separators=(",", ":")).encode()
    start = _aligned(_PREFIX.size + len(raw))
    chunks: list[Any] = [_PREFIX.pack(MAGIC, len(raw)), raw, bytes(start - _PREFIX.size - len(raw))]
    position = 0
    for (offset, length), v in zip(spans, views):
        if offset > position:
            chunks.append(bytes(offset - position))
        chunks.append(v)
        position = offset + length
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.urandom(6).hex()}-{path.name}")  # swept after a crash (schedule.py)
    try:
        with open(tmp, "wb") as f:
            f.write(b"".join(chunks))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_header(path: Path | str) -> dict[str, Any]:
    """The header alone (reads only its bytes). Raises OSError or BlobError."""
    with open(path, "rb") as f:
        return _header(f.read(_PREFIX.size), f.read, path)


def read(path: Path | str) -> tuple[dict[str, Any], list[memoryview]]:
    """The header and read-only views of the buffers, which are memory-mapped (page-aligned, so
    every buffer is ALIGN-aligned in memory too; nothing is copied)."""
    with open(path, "rb") as f:
        try:
            data: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            data = b""
    view = memoryview(data)
    header = _header(data[:_PREFIX.size], lambda n: data[_PREFIX.size:_PREFIX.size + n], path)
    start = _aligned(_PREFIX.size + _PREFIX.unpack(data[:_PREFIX.size])[1])
    buffers = []
    for offset, length in header.get("buffers", []):
        end = start + offset + length
        if end > len(data):
            raise BlobError(f"{path}: truncated (a buffer ends at {end}, the file at {len(data)})")
        buffers.append(view[start + offset:end])
    return header, buffers


def _header(prefix: bytes, read_bytes: Any, path: Path | str) -> dict[str, Any]:
    if len(prefix) != _PREFIX.size:
        raise BlobError(f"{path}: too short to be an mldata blob")
    magic, length = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise BlobError(f"{path}: not an mldata blob")
    raw = read_bytes(length)
    if len(raw) != length:
        raise BlobError(f"{path}: truncated header")
    try:
        header = json.loads(raw)
    except ValueError as error:
        raise BlobError(f"{path}: damaged header ({error})") from None
    if not isinstance(header, dict):
        raise BlobError(f"{path}: damaged header")
    return header


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
