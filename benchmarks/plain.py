"""The baseline: a plain pyarrow script doing the reference workload's reads, steps and writes.

For every ``*.csv`` in SRC (a folder, or a project folder with ``data/``), it reads the file with
``pyarrow.csv.read_csv`` (``null_values: ["", "NA"]``), keeps ``amount is not null and amount > 0``,
adds ``amount_eur = amount * 0.92`` and writes ``OUT/<stem>.parquet`` with zstd (pyarrow's default
level, as mldata's ``compression: zstd``). ``--jobs 1`` does it serially in this process;
``--jobs N`` uses a ``multiprocessing.Pool`` of N worker processes (fork on Linux, so the workers
inherit the imported pyarrow), one file per task.

Like mldata's reader, the CSV reader runs single-threaded (``use_threads=False``): parallelism
comes from the processes, one file each. ``--threads`` lets pyarrow use its thread pool instead.

The Parquet writer uses pyarrow's defaults: a dictionary for every column. ``--dictionary auto``
makes it choose the columns as mldata's default (``dictionary: auto``,
``mldata.writers.auto_dictionary``) does, for a like-for-like comparison of the rest.

    python benchmarks/plain.py SRC OUT [--jobs 1|2|N] [--threads] [--dictionary all|auto]
    python benchmarks/plain.py FILE.csv OUT.parquet    # one file (what a Makefile rule runs)
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing
import os
import struct
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

NULL_VALUES = ["", "NA"]
USE_THREADS = False
AUTO_DICTIONARY = None  # mldata.writers.auto_dictionary with --dictionary auto


def _f64(value: float) -> pa.Scalar:
    """A float64 Arrow scalar built from its bytes. (Passing Python numbers to pyarrow.compute,
    or pa.scalar, converts them through pyarrow's Python-to-Arrow path, which imports pandas:
    0.5 s in every process. mldata avoids that import too, so the floor must.)"""
    return pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(struct.pack("<d", value))])[0]


ZERO = _f64(0.0)
EUR = _f64(0.92)


def process(job: tuple[str, str]) -> int:
    """Read one CSV, filter, derive, write zstd Parquet; return the rows written."""
    src, dest = job
    table = pacsv.read_csv(
        src,
        read_options=pacsv.ReadOptions(use_threads=USE_THREADS, block_size=16 << 20),
        convert_options=pacsv.ConvertOptions(null_values=NULL_VALUES, strings_can_be_null=True),
    )
    amount = table["amount"]
    table = table.filter(pc.and_kleene(pc.is_valid(amount), pc.greater(amount, ZERO)))
    table = table.append_column("amount_eur", pc.multiply(table["amount"], EUR))
    tmp = dest + ".tmp"
    dictionary = AUTO_DICTIONARY(table.to_batches()[0]) if AUTO_DICTIONARY and table.num_rows else True
    pq.write_table(table, tmp, compression="zstd", use_dictionary=dictionary)
    os.replace(tmp, dest)
    return table.num_rows


def _init(use_threads: bool, dictionary: str = "all") -> None:
    global USE_THREADS, AUTO_DICTIONARY
    USE_THREADS = use_threads
    if dictionary == "auto":
        from mldata.writers import auto_dictionary

        AUTO_DICTIONARY = auto_dictionary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="folder of CSV files (or a project folder holding data/*.csv)")
    ap.add_argument("out", help="output folder")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (1: serial, in this process)")
    ap.add_argument("--threads", action="store_true", help="let pyarrow's CSV reader use threads")
    ap.add_argument("--dictionary", choices=("all", "auto"), default="all",
                    help="Parquet dictionary columns: all (pyarrow's default) or as mldata's dictionary: auto")
    args = ap.parse_args(argv)
    if os.path.isfile(args.src):  # one file to one output file
        _init(args.threads, args.dictionary)
        rows = process((args.src, args.out))
        print(f"1 file, {rows} rows written to {args.out}")
        return 0
    src = args.src
    if os.path.isdir(os.path.join(src, "data")):
        src = os.path.join(src, "data")
    files = sorted(glob.glob(os.path.join(src, "*.csv")))
    if not files:
        print(f"no CSV files in {src}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    jobs = [(f, os.path.join(args.out, os.path.splitext(os.path.basename(f))[0] + ".parquet")) for f in files]
    _init(args.threads, args.dictionary)
    if args.jobs <= 1:
        rows = sum(process(j) for j in jobs)
    else:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(args.jobs, initializer=_init, initargs=(args.threads, args.dictionary)) as pool:
            rows = sum(pool.imap_unordered(process, jobs, chunksize=1))
    print(f"{len(files)} files, {rows} rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
