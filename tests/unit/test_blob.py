"""The blob file: a JSON header and raw, aligned buffers."""

from __future__ import annotations

import numpy as np
import pytest

from mldata import blob


def test_a_blob_round_trips_its_header_and_buffers_aligned(tmp_path):
    path = tmp_path / "x.blob"
    values = np.arange(10, dtype=np.float64) / 3
    buffers = [values, b"", b"abc", np.array([7, -1], dtype=np.int64), memoryview(b"z" * 100)]
    blob.write(path, {"name": "x", "n": [1, 2]}, buffers)
    header, back = blob.read(path)
    assert header["name"] == "x" and header["n"] == [1, 2]
    assert [bytes(b) for b in back] == [bytes(memoryview(b).cast("B")) for b in buffers]
    assert np.frombuffer(back[0], dtype=np.float64).tolist() == values.tolist()
    for offset, _ in header["buffers"]:
        assert offset % blob.ALIGN == 0
    for view in back:  # the data area starts aligned too
        assert np.frombuffer(view, dtype=np.uint8).ctypes.data % 8 == 0 or len(view) == 0
    assert blob.read_header(path) == header
    assert not list(tmp_path.glob(".tmp-*"))


def test_reading_the_header_does_not_read_the_buffers(tmp_path):
    path = tmp_path / "big.blob"
    blob.write(path, {"k": 1}, [np.zeros(1 << 20)])
    data = path.read_bytes()
    path.write_bytes(data[:4096])  # the buffers cut off: the header alone still reads
    assert blob.read_header(path)["k"] == 1
    with pytest.raises(blob.BlobError, match="truncated"):
        blob.read(path)


@pytest.mark.parametrize("content", [b"", b"MLDBLOB", b"not a blob at all", b"MLDBLOB1" + (10).to_bytes(8, "little") + b"{"])
def test_damaged_or_foreign_files_are_blob_errors(tmp_path, content):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(blob.BlobError):
        blob.read_header(path)
    with pytest.raises(ValueError):  # BlobError is a ValueError
        blob.read(path)
