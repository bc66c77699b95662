"""Read an export file as text, in batches, with the line number of every row.

Every column is read as text (parsing is the next stage's job, where a bad value can be
quarantined with its reason). Rows with the wrong number of fields are not stored but reported with
their line and raw text. Memory stays bounded: the file is streamed in blocks.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import mmap
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from valmius.errors import InputError
from valmius.mapping import REQUIRED_COLUMNS, CoordinateSource, Mapping

BLOCK_BYTES = 32 << 20
"""A file is read and validated in stretches of about this size (a batch: 170,000 rows of the Finnish
export). Three rounds of a 10M-row ingest: 16 MB stretches 9.7-10.0 s, 32 MB 9.4-9.8 s (peak
2.15 -> 2.30 GB), 64 MB 9.8-9.9 s."""
PARSE_BLOCK_BYTES = 4 << 20
"""Arrow parses a stretch in blocks of this size: it converts a block column by column, and a 16 MB
block falls out of the cache between columns. 4 MB blocks (joined after) read 16 MB of the Finnish
export in 21 ms of CPU instead of 29."""
BINARY_CHECK_BYTES = 64 << 10
"""A file with a NUL character in its first bytes is not a text export (no text encoding of an
export has one)."""
T = TypeVar("T")


@dataclass
class MalformedRow:
    line: int
    text: str
    fields: int
    expected: int


@dataclass
class SourceFile:
    """An export file opened for reading: its header, encoding and the mapping's coordinate choice."""

    path: Path
    mapping: Mapping
    encoding: str
    header: list[str]
    coordinates: CoordinateSource | None
    absent_columns: list[str] = field(default_factory=list)
    """Optional columns of the mapping that this file lacks: stored empty, reported."""
    malformed: list[MalformedRow] = field(default_factory=list)
    rows_read: int = 0
    """Data rows read, malformed ones included."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_source(path: Path, mapping: Mapping) -> SourceFile:
    """Check that ``path`` can be read with ``mapping``: encoding, header and required columns."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (no header row)")
    with open(path, "rb") as handle:
        if b"\0" in handle.read(BINARY_CHECK_BYTES):
            raise InputError(f"{path}: not a text export (its first bytes hold NUL characters: a spreadsheet, an "
                             "archive or another binary file); export the data as CSV")
    encoding = _detect_encoding(path, mapping.encoding)
    header = _read_header(path, encoding, mapping.delimiter)
    present = set(header)
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise InputError(f"{path}: line 1: column {duplicates[0]!r} appears twice in the header")
    absent = {stored: src.column for stored, src in mapping.columns.items() if src.column and src.column not in present}
    missing = [f"{stored} (source column {column!r})" for stored, column in absent.items() if stored in REQUIRED_COLUMNS]
    if missing:
        raise InputError(
            f"{path}: line 1: the header lacks {', '.join(missing)} required by format {mapping.name!r}; "
            f"the header has: {', '.join(_shown(name) for name in header[:40])}. Check --format or write a mapping file."
        )
    coordinates = next((c for c in mapping.coordinates if all(col in present for col in c.source_columns)), None)
    return SourceFile(path, mapping, encoding, header, coordinates, absent_columns=sorted(absent.values()))


def _shown(name: str) -> str:
    """A header name as an error message shows it: control characters escaped, at most 60 characters."""
    shown = name if name.isprintable() else repr(name)[1:-1]
    return shown if len(shown) <= 60 else shown[:57] + "..."


class NeedsExactLines(Exception):
    """A malformed row turned up while reading with threads: read again on one thread."""


BatchRead = Callable[[], tuple[pa.RecordBatch, np.ndarray]]
"""Reads one batch of a file: (batch of text columns, line number per row)."""


def read_batches(source: SourceFile, exact_lines: bool = False) -> Iterator[BatchRead]:
    """Yield, in file order, one function per batch that reads it; malformed rows land in ``source.malformed``.

    The fast path cuts the file at line ends into stretches of about ``BLOCK_BYTES`` and each
    function parses its own stretch, so several threads can read (and then validate) at once; the
    line numbers of a stretch follow from the row counts of the stretches before it. This path
    cannot tell the line of a malformed row: the first malformed row raises
    :class:`NeedsExactLines`, and the caller reads the file again with ``exact_lines=True`` (one
    streaming reader on one thread, exact line numbers; the functions only hand the batches over).
    """
    source.malformed.clear()
    source.rows_read = 0
    if exact_lines:
        for batch, lines in _read_exact(source):
            yield lambda batch=batch, lines=lines: (batch, lines)
        return
    numbering = _LineNumbering(source)
    for index, (start, stop) in enumerate(_stretches(source.path)):
        yield functools.partial(_read_stretch, source, start, stop, index, numbering)


def _stretches(path: Path) -> Iterator[tuple[int, int]]:
    """Byte ranges of the data lines (the header excluded), about ``BLOCK_BYTES`` each, cut after a newline."""
    size = path.stat().st_size
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(b"\n") + 1  # 0 when the header is the only line: no data
        while 0 < start < size:
            newline = data.find(b"\n", min(start + BLOCK_BYTES, size) - 1)
            stop = size if newline < 0 else newline + 1
            yield start, stop
            start = stop


class _LineNumbering:
    """Hands each stretch its first line number once the stretch before it has counted its rows."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self._turn = threading.Condition()
        self._next_index = 0
        self._next_line = 2  # line 1 is the header
        self._failed = False

    def claim(self, index: int, rows: int) -> np.ndarray:
        """Line numbers of stretch ``index`` of ``rows`` rows (waits for the stretches before it)."""
        with self._turn:
            self._turn.wait_for(lambda: self._next_index == index or self._failed)
            if self._failed:
                raise NeedsExactLines()  # an earlier stretch failed; this one is read again or not at all
            first = self._next_line
            self._next_line += rows
            self._next_index += 1
            self.source.rows_read += rows
            self._turn.notify_all()
        return np.arange(first, first + rows, dtype=np.int64)

    def fail(self) -> None:
        with self._turn:
            self._failed = True
            self._turn.notify_all()


def _read_stretch(source: SourceFile, start: int, stop: int, index: int,
                  numbering: _LineNumbering) -> tuple[pa.RecordBatch, np.ndarray]:
    saw_malformed: list[bool] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        saw_malformed.append(True)
        return "error"

    try:
        with pa.memory_map(str(source.path)) as mapped:
            mapped.seek(start)
            text = mapped.read_buffer(stop - start)  # a view of the mapped file, no copy
            for block_bytes in dict.fromkeys((min(stop - start, PARSE_BLOCK_BYTES), stop - start)):
                try:
                    options = _csv_options(source, on_invalid, skip_header=False, block_bytes=block_bytes)
                    table = pacsv.read_csv(pa.BufferReader(text), **options)
                    break
                except pa.ArrowInvalid as exc:
                    if saw_malformed:
                        raise NeedsExactLines() from exc
                    if "straddles" in str(exc) and block_bytes < stop - start:
                        continue  # a line longer than a block: the stretch is parsed as one block
                    raise _decode_error(source, exc) from exc
        batches = table.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
        return batch, numbering.claim(index, batch.num_rows)
    except BaseException:
        numbering.fail()
        raise


def _read_exact(source: SourceFile) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """Stream the file on one thread; rows with the wrong number of fields go to ``source.malformed``."""
    expected = len(source.header)
    malformed_lines: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        line = int(row.number) if row.number is not None else -1
        malformed_lines.append(line)
        if row.text.strip():
            source.malformed.append(MalformedRow(line, row.text, row.actual_columns, expected))
        return "skip"

    next_line = 2  # line 1 is the header
    skipped = 0  # malformed lines before next_line (they arrive in increasing order)
    try:
        reader = pacsv.open_csv(source.path, **_csv_options(source, on_invalid, skip_header=True, block_bytes=BLOCK_BYTES))
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            # This batch's rows are the next n lines that were not skipped as malformed.
            stop = next_line + n
            skipped_before = skipped
            while skipped < len(malformed_lines) and malformed_lines[skipped] < stop:
                skipped += 1
                stop += 1
            lines = np.arange(next_line, stop, dtype=np.int64)
            if skipped > skipped_before:  # malformed lines fall among this batch's lines
                lines = np.setdiff1d(lines, malformed_lines[:skipped])
            next_line = stop
            source.rows_read += n
            yield batch, lines
    except pa.ArrowInvalid as exc:
        raise _decode_error(source, exc) from exc
    source.rows_read += len(source.malformed)


def prefetch(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run an iterator on a background thread, ``depth`` items ahead (Arrow reads without the GIL)."""
    done = object()
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    thread = threading.Thread(target=work, name="valmius-read", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _csv_options(source: SourceFile, on_invalid, skip_header: bool, block_bytes: int) -> dict:
    """Arrow's options for reading ``source`` on one thread: every column as text, empty text kept (not null)."""
    arrow_encoding = {"utf-8-sig": "utf8", "utf-8": "utf8", "cp1252": "cp1252", "latin-1": "latin1"}[source.encoding]
    return dict(
        read_options=pacsv.ReadOptions(
            use_threads=False,  # the stretches are the parallelism; exact line numbers need one thread
            block_size=block_bytes,
            encoding=arrow_encoding,
            column_names=source.header,
            skip_rows=1 if skip_header else 0,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=source.mapping.delimiter,
            invalid_row_handler=on_invalid,
            ignore_empty_lines=False,
            newlines_in_values=False,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in source.header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _detect_encoding(path: Path, wanted: str) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if wanted != "auto":
        return wanted
    # No byte-order mark: UTF-8 if every byte sequence is valid UTF-8, else Windows-1252.
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    with open(path, "rb") as handle:
        first_bytes = handle.readline()
        try:
            first = first_bytes.decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: line 1 is not valid {encoding} (byte 0x{exc.object[exc.start]:02X}); "
                "set encoding = \"auto\" or \"cp1252\" in the mapping"
            ) from exc
    row = next(csv.reader([first], delimiter=delimiter), [])
    header = [h.strip() for h in row]
    if not any(header):
        raise InputError(f"{path}: line 1: no header row found")
    return header


def _decode_error(source: SourceFile, exc: pa.ArrowInvalid) -> InputError:
    """Turn Arrow's 'invalid UTF8' into an error naming the line and column."""
    text = str(exc)
    if "UTF8" not in text:
        return InputError(f"{source.path}: cannot be read as CSV: {text}")
    line, column = _first_invalid_utf8(source.path, source.mapping.delimiter, source.header)
    return InputError(
        f"{source.path}: line {line}, column {column!r}: not valid UTF-8 text; "
        f"the file is read as {source.encoding}. Set encoding = \"auto\" or \"cp1252\" in the mapping."
    )


def _first_invalid_utf8(path: Path, delimiter: str, header: list[str]) -> tuple[int, str]:
    with open(path, "rb") as handle:
        line_no = 0
        for raw in handle:
            line_no += 1
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                field_index = raw[: err.start].count(delimiter.encode())
                name = header[field_index] if field_index < len(header) else f"field {field_index + 1}"
                return line_no, name
    return -1, "?"
