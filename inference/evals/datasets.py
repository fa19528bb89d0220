"""A dataset from an upload: CSV with a header row, or JSON Lines of flat objects. Column names are variable names
(a letter or ``_``, then letters, digits and ``_``); a column named ``expected`` holds the expected output. Values
are text (JSON numbers and booleans as JSON writes them); a row that lacks a column has it empty. Every problem is
one 422 and nothing is saved."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from core.errors import NotFoundError, PayloadTooLargeError, ValidationError
from core.strings import name_problem
from inference.evals.models import Dataset
from tenancy.accounts.models import Namespace

MAX_BYTES = 2 * 1024 * 1024  # of the uploaded text (UTF-8)
MAX_ROWS = 1000
MAX_COLUMNS = 32
MAX_VALUE_CHARS = 20_000
MAX_DATASETS = 200  # per namespace
EXPECTED = "expected"
FORMATS = ("csv", "jsonl")
UPLOAD_KEYS = ("name", "format", "content")


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[dict[str, str]]


def _column_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name or len(name) > 64 or not (name[0].isascii() and (
            name[0].isalpha() or name[0] == "_")) or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return "a column name is a letter or _, then letters, digits or _ (at most 64)"
    return None


def _value(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, int) and abs(value) < 10 ** 30:
        return json.dumps(value)
    if isinstance(value, float) and math.isfinite(value):
        return json.dumps(value)
    return None


def _text_ok(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)


def _csv(content: str, problems: list[dict[str, str]]) -> Table:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if not header:
            problems.append({"field": "content", "problem": "a CSV needs a header row naming its columns"})
            return Table([], [])
        records = []
        for record in reader:
            if len(records) >= MAX_ROWS:
                problems.append({"field": "content", "problem": f"more than {MAX_ROWS} rows"})
                break
            if record:  # blank lines are skipped
                records.append(record)
    except csv.Error as error:
        problems.append({"field": "content", "problem": f"not CSV: {str(error)[:200]}"})
        return Table([], [])
    columns = [name.strip() for name in header]
    rows = []
    for number, record in enumerate(records, start=2):
        if len(record) > len(columns):
            problems.append({"field": f"content.line[{number}]",
                             "problem": f"{len(record)} values for {len(columns)} columns"})
            continue
        rows.append({name: record[i] if i < len(record) else "" for i, name in enumerate(columns)})
    return Table(columns, rows)


def _jsonl(content: str, problems: list[dict[str, str]]) -> Table:
    columns: dict[str, None] = {}
    objects = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        if len(objects) >= MAX_ROWS:
            problems.append({"field": "content", "problem": f"more than {MAX_ROWS} rows"})
            break
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            problems.append({"field": f"content.line[{number}]", "problem": "not a JSON object"})
            continue
        if not isinstance(item, dict):
            problems.append({"field": f"content.line[{number}]", "problem": "each line is one JSON object"})
            continue
        row = {}
        for key, value in item.items():
            text = _value(value)
            if text is None:
                problems.append({"field": f"content.line[{number}].{str(key)[:64]}",
                                 "problem": "a value is a string, number or boolean"})
                continue
            columns.setdefault(key, None)
            row[key] = text
        objects.append(row)
        if len(problems) > 100:
            break
    names = list(columns)
    return Table(names, [{name: row.get(name, "") for name in names} for row in objects])


def table_parse(*, format: Any, content: Any) -> Table:  # noqa: A002 - the upload's field
    """The rows of an upload, or one 422 (413 past the size limit) listing every problem."""
    problems: list[dict[str, str]] = []
    if format not in FORMATS:
        problems.append({"field": "format", "problem": "csv or jsonl"})
    if not isinstance(content, str):
        problems.append({"field": "content", "problem": "the file's text"})
    if problems:
        raise ValidationError(problems)
    if len(content) > MAX_BYTES or len(content.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise PayloadTooLargeError(f"A dataset is at most {MAX_BYTES} bytes", details={"limit_bytes": MAX_BYTES})
    if not _text_ok(content):
        raise ValidationError([{"field": "content", "problem": "must not contain NUL characters or lone surrogates"}])
    table = (_csv if format == "csv" else _jsonl)(content, problems)
    if not table.columns and not problems:
        problems.append({"field": "content", "problem": "no columns"})
    if len(table.columns) > MAX_COLUMNS:
        problems.append({"field": "content", "problem": f"more than {MAX_COLUMNS} columns"})
    seen: set[str] = set()
    for name in table.columns[:MAX_COLUMNS + 1]:
        if problem := _column_problem(name):
            problems.append({"field": f"content.columns.{str(name)[:64]}", "problem": problem})
        elif name in seen:
            problems.append({"field": f"content.columns.{name}", "problem": "named twice"})
        seen.add(str(name))
    if not table.rows and not problems:
        problems.append({"field": "content", "problem": "no rows"})
    for index, row in enumerate(table.rows):
        for name, value in row.items():
            if len(value) > MAX_VALUE_CHARS:
                problems.append({"field": f"content.rows[{index}].{str(name)[:64]}",
                                 "problem": f"longer than {MAX_VALUE_CHARS} characters"})
    if problems:
        raise ValidationError(problems)
    return table


def dataset_create(*, namespace: Namespace, body: Any) -> Dataset:
    """``{"name", "format": "csv" | "jsonl", "content": the file's text}`` → a stored dataset."""
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}])
    problems = [{"field": str(key)[:100], "problem": f"unknown key; accepted: {', '.join(UPLOAD_KEYS)}"}
                for key in body if key not in UPLOAD_KEYS]
    name = body.get("name")
    if problem := name_problem(name, max_chars=100):
        problems.append({"field": "name", "problem": problem})
    if problems:
        raise ValidationError(problems)
    table = table_parse(format=body.get("format"), content=body.get("content"))
    with transaction.atomic():
        if Dataset.objects.filter(namespace=namespace).count() >= MAX_DATASETS:
            raise ValidationError([{"field": "name", "problem": f"a namespace keeps at most {MAX_DATASETS} datasets; "
                                                                "delete one first"}])
        try:
            with transaction.atomic():
                return Dataset.objects.create(namespace=namespace, name=name.strip(), columns=table.columns,
                                              rows=table.rows, row_count=len(table.rows),
                                              size_bytes=len(body["content"].encode("utf-8")))
        except IntegrityError:
            raise ValidationError([{"field": "name", "problem": "the namespace has a dataset of that name"}]) from None


def dataset_get(*, namespace_id: str, reference: Any) -> Dataset:
    """The namespace's dataset of that id (``ds_...``) or name; 404 otherwise (another namespace's included)."""
    found = None
    if not name_problem(reference, max_chars=100):
        lookup = {"id": reference} if reference.startswith("ds_") else {"name": reference}
        found = Dataset.objects.filter(namespace_id=namespace_id, **lookup).first()
    if found is None:
        shown = reference[:100] if isinstance(reference, str) else ""
        raise NotFoundError(f"The namespace has no dataset {shown!r}", details={"resource": "dataset",
                                                                               "dataset": shown})
    return found


def dataset_delete(*, dataset: Dataset) -> None:
    """A dataset and every run over it."""
    dataset.delete()


def dataset_dict(dataset: Dataset, *, rows: int = 0) -> dict[str, Any]:
    """A dataset as the API shows it; with its first ``rows`` rows when asked."""
    found = {"id": dataset.id, "name": dataset.name, "columns": dataset.columns, "rows": dataset.row_count,
             "has_expected": EXPECTED in dataset.columns, "size_bytes": dataset.size_bytes,
             "created_at": dataset.created_at.isoformat()}
    if rows:
        found["preview"] = dataset.rows[:rows]
    return found


def dataset_list(*, namespace_id: str) -> list[Dataset]:
    return list(Dataset.objects.filter(namespace_id=namespace_id).defer("rows").order_by("name"))
