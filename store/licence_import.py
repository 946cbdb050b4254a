"""Loading licences from another library: a JSON Lines file, one licence a line.

Idempotent on (type, number): a licence already present is left as it is, so a file can be
loaded again after an interruption and only what is missing is added. A bad line is reported
with its number and skipped; the rest of the file still loads. So is a line whose (type,
number) the library holds with other content: it is not the licence present.

Built for millions of lines. Checking a line costs more than writing it, so worker processes
check chunks of lines and turn them into rows in the driver's own form, while this process
writes the chunks in file order, each as one executemany INSERT ... ON CONFLICT DO NOTHING in
a transaction of its own. The lines are checked in plain Python with the domain's own
checks (`record_problems`): a pydantic model per line cost more than the rest of the check.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, column, select, table

from domain.fields import clean_fields
from domain.licences import (
    TEXT_LIMITS,
    LicenceType,
    canonical_json,
    content_digest,
    record_problems,
)
from store.db import create_sync_engine, sync_url
from store.licences import LICENCES, insert_licences

KEYS = (
    "type",
    "number",
    "holder_id",
    "holder_name",
    "issuer",
    "issued_on",
    "valid_until",
    "fields",
)
COLUMNS = (*KEYS, "holder_kind", "digest", "created_at")
# The licences table without column types: rows arrive already in the driver's form, made by
# the workers with the real columns' own conversions.
RAW_LICENCES = table("licences", *(column(name) for name in COLUMNS))
BOM = b"\xef\xbb\xbf"
# Below this size a file is checked in this process: starting workers costs about a second.
WORKERS_FROM_BYTES = 16 * 2**20


@dataclass
class ImportSummary:
    read: int = 0  # lines that were not blank
    loaded: int = 0
    already: int = 0  # the same licence present before, or earlier in the file
    bad: int = 0  # lines refused, with those whose (type, number) is held by other content

    def __str__(self) -> str:
        return (
            f"read {self.read}, loaded {self.loaded}, already present {self.already}, "
            f"bad {self.bad}"
        )


@dataclass
class Chunk:
    """Consecutive lines of the file, checked."""

    read: int = 0
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # values in COLUMNS order
    lines: list[int] = field(default_factory=list)  # each row's line number
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


class BadLine(Exception):
    pass


class LineReader:
    """Turns a line into a row ready for the driver of the database at `url`, or says why
    not."""

    def __init__(
        self,
        licence_types: Mapping[str, LicenceType],
        *,
        today: date,
        now: datetime,
        url: str,
    ) -> None:
        self.licence_types = licence_types
        self.today = today
        dialect = sync_url(url).get_dialect()()

        def conversion(name: str) -> Callable[[Any], Any]:
            convert = LICENCES.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            return convert or (lambda value: value)

        self.to_date = conversion("issued_on")
        self.created_at = conversion("created_at")(now)

    def chunk(self, first_line: int, lines: list[bytes]) -> Chunk:
        out = Chunk()
        for number, text in enumerate(lines, start=first_line):
            if not text.strip():
                continue
            out.read += 1
            try:
                out.rows.append(self.row(text))
                out.lines.append(number)
            except BadLine as exc:
                out.bad.append((number, str(exc)))
        return out

    def row(self, text: bytes) -> tuple[Any, ...]:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadLine(f"不是有效的 JSON：{exc}") from None
        if not isinstance(data, dict):
            raise BadLine("应为一个 JSON 对象")
        problems = {key: "未定义的键" for key in data if key not in KEYS}
        texts = {key: _text(data, key, limit, problems) for key, limit in TEXT_LIMITS.items()}
        type_code = data.get("type")
        licence_type = None
        if not isinstance(type_code, str):
            problems["type"] = "缺少" if "type" not in data else "应为文字"
        else:
            licence_type = self.licence_types.get(type_code)
            if licence_type is None:
                problems["type"] = f"未知的证照类型 {type_code!r}"
        issued_on = _date(data, "issued_on", problems, optional=False)
        valid_until = _date(data, "valid_until", problems, optional=True)
        # Each field's value is checked against its type by `record_problems` below.
        values = data.get("fields")
        if not isinstance(values, dict):
            problems["fields"] = "缺少" if "fields" not in data else "应为对象"
            values = {}
        if problems or licence_type is None or issued_on is None:
            raise BadLine(_joined(problems))
        holder_id = texts["holder_id"].upper()
        problems = record_problems(
            {
                "type": type_code,
                "holder_id": holder_id,
                "issued_on": issued_on,
                "valid_until": valid_until,
                "fields": values,
            },
            licence_type,
            today=self.today,
        )
        if problems:
            raise BadLine(_joined(problems))
        fields_json = canonical_json(clean_fields(licence_type.fields, values))
        number, holder_name, issuer = texts["number"], texts["holder_name"], texts["issuer"]
        digest = content_digest(
            type=licence_type.code,
            number=number,
            holder_id=holder_id,
            holder_name=holder_name,
            issuer=issuer,
            issued_on=issued_on,
            valid_until=valid_until,
            fields_json=fields_json,
        )
        return (
            licence_type.code,
            number,
            holder_id,
            holder_name,
            issuer,
            self.to_date(issued_on),
            None if valid_until is None else self.to_date(valid_until),
            fields_json,
            licence_type.holder.value,
            digest,
            self.created_at,
        )


def _text(data: dict[str, Any], key: str, limit: int, problems: dict[str, str]) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        problems[key] = "缺少" if key not in data else "应为文字"
        return ""
    value = value.strip()
    if not value:
        problems[key] = "必填"
    elif len(value) > limit:
        problems[key] = f"最多{limit}个字符"
    return value


def _date(
    data: dict[str, Any], key: str, problems: dict[str, str], *, optional: bool
) -> date | None:
    if key not in data:
        problems[key] = "缺少"
        return None
    value = data[key]
    if value is None and optional:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        problems[key] = "应为日期（YYYY-MM-DD）" + ("或 null" if optional else "")
        return None


def _joined(problems: Mapping[str, str]) -> str:
    return "; ".join(f"{key}: {problem}" for key, problem in problems.items())


_TYPE, _NUMBER, _DIGEST = COLUMNS.index("type"), COLUMNS.index("number"), COLUMNS.index("digest")


def _held_otherwise(
    conn: Connection, chunk: Chunk, names: Mapping[str, str]
) -> list[tuple[int, str]]:
    """The chunk's lines whose (type, number) the library holds with other content: not
    loaded, and not the same licence present already (a second licence of one number, or a
    licence changed at its source, needs a person, not a silent skip)."""
    numbers = sorted({row[_NUMBER] for row in chunk.rows})
    digests = {}
    for first in range(0, len(numbers), 5000):  # within every driver's parameter limit
        stored = conn.execute(
            select(LICENCES.c.type, LICENCES.c.number, LICENCES.c.digest).where(
                LICENCES.c.number.in_(numbers[first : first + 5000])
            )
        )
        digests.update({(t, n): d for t, n, d in stored})
    return [
        (line, f"number: 编号 {row[_NUMBER]} 的{names[row[_TYPE]]}已在证照库中，内容不同，未导入")
        for line, row in zip(chunk.lines, chunk.rows, strict=True)
        if digests.get((row[_TYPE], row[_NUMBER]), row[_DIGEST]) != row[_DIGEST]
    ]


def _chunks(path: Path, size: int) -> Iterator[tuple[int, list[bytes]]]:
    with path.open("rb") as lines:
        first, chunk = 1, []
        for number, text in enumerate(lines, start=1):
            chunk.append(text.removeprefix(BOM) if number == 1 else text)
            if len(chunk) == size:
                yield first, chunk
                first, chunk = number + 1, []
        if chunk:
            yield first, chunk


# In a worker process: the reader its initializer made.
_reader: LineReader | None = None


def _start_worker(
    licence_types: Mapping[str, LicenceType], today: date, now: datetime, url: str
) -> None:
    global _reader
    _reader = LineReader(licence_types, today=today, now=now, url=url)


def _check_chunk(first_line: int, lines: list[bytes]) -> Chunk:
    assert _reader is not None, "the worker's initializer makes the reader"
    return _reader.chunk(first_line, lines)


def _ignore(line: int, reason: str) -> None:
    pass


def import_licences(
    url: str,
    path: Path,
    licence_types: Mapping[str, LicenceType],
    *,
    today: date,
    batch_size: int = 5000,
    workers: int | None = None,
    on_bad_line: Callable[[int, str], None] = _ignore,
) -> ImportSummary:
    """Load `path` into the database at `url`, `batch_size` lines per transaction.

    `today` is the centre's date: no licence is issued after it. `on_bad_line(number,
    reason)` hears of each line skipped, in file order. `workers` processes check the lines
    (0: this process does; None: one per core for a big file)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if workers is None:
        big = path.stat().st_size >= WORKERS_FROM_BYTES
        workers = min(os.cpu_count() or 1, 4) if big else 0
    now = datetime.now(UTC)
    engine = create_sync_engine(url)
    # The dialect's INSERT ... ON CONFLICT DO NOTHING, compiled once and run by the driver's
    # own executemany: SQLAlchemy's per-row parameter handling cost more than SQLite's
    # insert, and on PostgreSQL its batched VALUES form does not count the rows it adds.
    compiled = insert_licences(engine.dialect.name, RAW_LICENCES).compile(dialect=engine.dialect)
    statement = compiled.string
    if compiled.positional:
        order = [COLUMNS.index(name) for name in compiled.positiontup or ()]
        parameters: Callable[[list[tuple[Any, ...]]], Any] = (
            (lambda rows: rows)
            if order == list(range(len(COLUMNS)))
            else (lambda rows: [tuple(row[i] for i in order) for row in rows])
        )
    else:
        parameters = lambda rows: [dict(zip(COLUMNS, row, strict=True)) for row in rows]  # noqa: E731
    summary = ImportSummary()
    names = {code: t.name for code, t in licence_types.items()}

    def write(chunk: Chunk) -> None:
        summary.read += chunk.read
        held: list[tuple[int, str]] = []
        if chunk.rows:
            with engine.begin() as conn:
                added = conn.exec_driver_sql(statement, parameters(chunk.rows)).rowcount
                if added < len(chunk.rows):
                    held = _held_otherwise(conn, chunk, names)
            summary.loaded += added
            summary.already += len(chunk.rows) - added - len(held)
        refused = sorted([*chunk.bad, *held])  # in file order
        summary.bad += len(refused)
        for number, reason in refused:
            on_bad_line(number, reason)

    try:
        if workers == 0:
            reader = LineReader(licence_types, today=today, now=now, url=url)
            for first, lines in _chunks(path, batch_size):
                write(reader.chunk(first, lines))
            return summary
        # Spawned, not forked: the caller may hold threads (an event loop, a Temporal client)
        # that a forked child would inherit in whatever state they were.
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(dict(licence_types), today, now, url),
        ) as pool:
            pending: deque[Future[Chunk]] = deque()
            for first, lines in _chunks(path, batch_size):
                pending.append(pool.submit(_check_chunk, first, lines))
                # Enough ahead to keep every worker busy while a chunk is written.
                if len(pending) > 2 * workers:
                    write(pending.popleft().result())
            while pending:
                write(pending.popleft().result())
        return summary
    finally:
        engine.dispose()
