"""Reading evaluation runs: one run with its progress and per-column totals, its cells (the grid), two runs side by
side, and a run as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator

from django.db.models import Avg, Count, Q, Sum

from core.errors import NotFoundError, ValidationError
from core.strings import name_problem
from inference.evals.models import EvalCell, EvalRun
from inference.evals.services import stale_settle

STALE_SECONDS = 600  # a running run with no heartbeat for this long is failed (reason worker_lost)
RUNS_LISTED = 50
CELLS_PAGE = 500


def run_get(*, namespace_id: str, reference: Any) -> EvalRun:
    """The namespace's run of that id; 404 otherwise (another namespace's included). A run whose worker is gone
    is settled here (failed) rather than left running."""
    found = None
    if not name_problem(reference, max_chars=64) and reference.startswith("ev_"):
        found = EvalRun.objects.filter(namespace_id=namespace_id, id=reference).select_related("dataset").first()
    if found is None:
        shown = reference[:64] if isinstance(reference, str) else ""
        raise NotFoundError(f"The namespace has no evaluation run {shown!r}", details={"resource": "eval_run",
                                                                                       "run": shown})
    return stale_settle(found, stale_seconds=STALE_SECONDS)


def run_list(*, namespace_id: str) -> list[EvalRun]:
    runs = EvalRun.objects.filter(namespace_id=namespace_id).select_related("dataset").order_by("-created_at")
    return [stale_settle(run, stale_seconds=STALE_SECONDS) for run in runs[:RUNS_LISTED]]


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 8)


def column_totals(run: EvalRun) -> list[dict[str, Any]]:
    """Per column: cells done and failed, latency (mean), tokens and cost (sums; cost None when a cell's model has
    no price), and each scorer's mean over the cells it scored."""
    stats = {row["column"]: row for row in EvalCell.objects.filter(run=run).values("column").annotate(
        n_cells=Count("id"), n_failed=Count("id", filter=Q(ok=False)),
        latency_mean=Avg("latency_ms", filter=Q(ok=True)), prompt_sum=Sum("prompt_tokens"),
        completion_sum=Sum("completion_tokens"), cost_sum=Sum("cost_usd"),
        unpriced=Count("id", filter=Q(ok=True, cost_usd__isnull=True)))}
    scores: dict[int, dict[str, list[float]]] = {}
    for column, values in EvalCell.objects.filter(run=run, ok=True).values_list("column", "scores"):
        for name, value in (values or {}).items():
            if isinstance(value, (int, float)):
                scores.setdefault(column, {}).setdefault(name, []).append(float(value))
    totals = []
    for index, column in enumerate(run.columns):
        found = stats.get(index, {})
        means = {scorer["name"]: (round(sum(v) / len(v), 4) if (v := scores.get(index, {}).get(scorer["name"]))
                                  else None) for scorer in run.scorers}
        tokens = (found.get("prompt_sum") or 0) + (found.get("completion_sum") or 0)
        totals.append({"column": index, "label": column["label"], "cells": found.get("n_cells", 0),
                       "failed": found.get("n_failed", 0), "latency_ms_mean": _number(found.get("latency_mean")),
                       "tokens": tokens, "cost_usd": None if found.get("unpriced") else _number(found.get("cost_sum")),
                       "scores": means})
    return totals


def column_dict(column: dict[str, Any]) -> dict[str, Any]:
    return {"label": column["label"], "target": column["target"], "prompt_id": column["prompt_id"],
            "prompt": column["prompt_name"], "version": column["version"], "variables": column["variables"],
            "parameters": column["parameters"]}


def run_dict(run: EvalRun, *, totals: bool = True) -> dict[str, Any]:
    found = {"id": run.id, "name": run.name, "status": run.status, "dataset": {"id": run.dataset_id,
                                                                              "name": run.dataset.name},
             "columns": [column_dict(c) for c in run.columns], "scorers": run.scorers, "total": run.total,
             "done": run.done, "failed": run.failed,
             "progress": round(run.done / run.total, 4) if run.total else 1.0, "error": run.error,
             "attempts": run.attempts, "created_at": run.created_at.isoformat(),
             "started_at": run.started_at.isoformat() if run.started_at else None,
             "finished_at": run.finished_at.isoformat() if run.finished_at else None}
    if totals:
        found["totals"] = column_totals(run)
    return found


def cell_dict(cell: EvalCell) -> dict[str, Any]:
    return {"row": cell.row, "column": cell.column, "ok": cell.ok, "output": cell.output,
            "latency_ms": cell.latency_ms, "tokens": cell.prompt_tokens + cell.completion_tokens,
            "prompt_tokens": cell.prompt_tokens, "completion_tokens": cell.completion_tokens,
            "cost_usd": _number(cell.cost_usd), "scores": cell.scores, "notes": cell.notes, "error": cell.error}


def _offset(value: Any) -> int:
    if value in (None, ""):
        return 0
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 9:
        raise ValidationError([{"field": "offset", "problem": "a row number (0, 1, ...)"}])
    return int(value)


def run_cells(run: EvalRun, *, offset: Any = None) -> dict[str, Any]:
    """A page of the grid: the rows from ``offset`` (CELLS_PAGE cells at most), each with its variables and
    expected output and its cells by column."""
    start = _offset(offset)
    per_page = max(1, CELLS_PAGE // max(1, len(run.columns)))
    rows = run.dataset.rows[start:start + per_page]
    cells: dict[int, list[dict[str, Any]]] = {}
    for cell in EvalCell.objects.filter(run=run, row__gte=start, row__lt=start + per_page):
        cells.setdefault(cell.row, []).append(cell_dict(cell))
    listed = [{"row": start + i, "values": row, "cells": sorted(cells.get(start + i, []), key=lambda c: c["column"])}
              for i, row in enumerate(rows)]
    following = start + per_page if start + per_page < run.dataset.row_count else None
    return {"run": run.id, "offset": start, "next_offset": following, "rows": listed}


def runs_compare(a: EvalRun, b: EvalRun) -> dict[str, Any]:
    """Two runs side by side: each one's columns with their totals; and, when both ran over the same dataset, per
    row the cells of both (outputs and scores), with the rows where a scorer they share disagrees first."""
    first, second = run_dict(a), run_dict(b)
    compared: dict[str, Any] = {"a": first, "b": second, "same_dataset": a.dataset_id == b.dataset_id, "rows": []}
    if not compared["same_dataset"]:
        return compared
    shared = [s["name"] for s in a.scorers if s["name"] in {t["name"] for t in b.scorers}]
    by_run: dict[str, dict[int, list[dict[str, Any]]]] = {a.id: {}, b.id: {}}
    for cell in EvalCell.objects.filter(run__in=[a, b], row__lt=CELLS_PAGE).order_by("row", "column"):
        by_run[cell.run_id].setdefault(cell.row, []).append(cell_dict(cell))
    rows = []
    for index, values in enumerate(a.dataset.rows[:CELLS_PAGE]):
        left, right = by_run[a.id].get(index, []), by_run[b.id].get(index, [])
        means = [_mean(cells, shared) for cells in (left, right)]
        rows.append({"row": index, "values": values, "a": left, "b": right, "score_a": means[0], "score_b": means[1],
                     "differs": means[0] != means[1]})
    compared["shared_scorers"] = shared
    compared["rows"] = rows
    return compared


def _mean(cells: list[dict[str, Any]], scorers: list[str]) -> float | None:
    values = [c["scores"].get(name) for c in cells for name in scorers]
    values = [v for v in values if isinstance(v, (int, float))]
    return round(sum(values) / len(values), 4) if values else None


def run_csv(run: EvalRun) -> Iterator[str]:
    """One line per cell: the row's number and variables, the column, output, latency, tokens, cost, error and
    each score."""
    names = [s["name"] for s in run.scorers]
    variables = run.dataset.columns
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_safe(v) for v in values])
        return buffer.getvalue()

    yield line(["row", *variables, "column", "prompt", "version", "target", "output", "latency_ms", "prompt_tokens",
                "completion_tokens", "cost_usd", "error", *[f"score_{n}" for n in names]])
    rows = run.dataset.rows
    for cell in EvalCell.objects.filter(run=run).order_by("row", "column").iterator(chunk_size=500):
        column = run.columns[cell.column]
        values = rows[cell.row] if cell.row < len(rows) else {}
        error = (cell.error or {}).get("error", {}).get("type", "") if cell.error else ""
        yield line([cell.row, *[values.get(v, "") for v in variables], column["label"], column["prompt_name"] or "",
                    column["version"] or "", column["target"], cell.output, cell.latency_ms, cell.prompt_tokens,
                    cell.completion_tokens, "" if cell.cost_usd is None else cell.cost_usd, error,
                    *["" if cell.scores.get(n) is None else cell.scores[n] for n in names]])


def _safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
