"""Usage: totals, charts per day, top models and keys, the recent requests (keyset pages) and their CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from core.errors import ValidationError
from inference.usage.bodies import request_ids_logged
from inference.usage.rollups import utc_today
from inference.usage.selectors import MAX_PAGE
from playground.web.dashboard.access import dashboard_view
from playground.web.dashboard.forms import STATUS_CHOICES, UsageFilterForm
from playground.web.dashboard.usage import (
    UsageFilters,
    csv_header,
    csv_rows,
    key_names,
    namespace_names,
    usage_overview,
    usage_records_page,
    usage_tiles,
)
from playground.web.dashboard.views.common import page_render
from tenancy.accounts.models import Organization


def _filters(request: HttpRequest) -> tuple[UsageFilterForm, UsageFilters | None]:
    form = UsageFilterForm(request.GET, organization=request.seat.organization, today=utc_today())
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, UsageFilters(start=data["start"], end=data["end"], namespace_id=data["namespace"] or None,
                              api_key_id=data["key"], provider=data["provider"] or None,
                              model=data["model"] or None, status=data["status"])


def _query(request: HttpRequest, *, drop: tuple[str, ...] = ("cursor",)) -> str:
    """The current filters as a query string, for links that keep them."""
    return urlencode([(k, v) for k, v in request.GET.items() if k not in drop and v])


@dashboard_view()
def usage_page(request: HttpRequest) -> HttpResponse:
    organization = request.seat.organization
    form, filters = _filters(request)
    if filters is None:
        return page_render(request, "dashboard/usage/page.html", tab="usage", form=form, overview=None,
                           http_status=400)
    cursor = request.GET.get("cursor") or None
    try:
        records = usage_records_page(organization=organization, filters=filters, cursor=cursor)
    except ValidationError:  # a cursor this page did not make: start from the newest
        cursor, records = None, usage_records_page(organization=organization, filters=filters, cursor=None)
    overview = usage_overview(organization=organization, filters=filters)
    namespaces = namespace_names(organization=organization)
    keys = key_names(ids={r.api_key_id for r in records.records if r.api_key_id})
    logged = _logged(request, records.records)
    rows = [{"record": r, "namespace": namespaces.get(r.namespace_id, ""), "key": keys.get(r.api_key_id, ""),
             "logged": (r.namespace_id, r.request_id) in logged} for r in records.records]
    return page_render(
        request, "dashboard/usage/page.html", tab="usage", form=form, filters=filters, overview=overview,
        records=rows, next_cursor=records.next_cursor, cursor=cursor, query=_query(request),
        export_query=_query(request), models=[bar["label"] for bar in overview.top_models],
        tiles=usage_tiles(overview.totals),
        status_choices=STATUS_CHOICES, chart_data=overview.days)


def _logged(request: HttpRequest, records: list) -> set[tuple[str, str]]:
    """Which of these records have a logged body (admins only: reading a body needs admin)."""
    if not request.seat.is_admin:
        return set()
    by_namespace: dict[str, list[str]] = {}
    for record in records:
        if record.namespace_id and record.request_id:
            by_namespace.setdefault(record.namespace_id, []).append(record.request_id)
    return {(namespace_id, request_id) for namespace_id, ids in by_namespace.items()
            for request_id in request_ids_logged(namespace_id=namespace_id, request_ids=ids)}


@dashboard_view()
def usage_export(request: HttpRequest) -> HttpResponse:
    """The filtered records as CSV, newest first, streamed page by page (keyset), however many there are."""
    form, filters = _filters(request)
    if filters is None:
        return HttpResponse("Bad filters: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
                            status=400, content_type="text/plain; charset=utf-8")
    organization = request.seat.organization
    response = StreamingHttpResponse(_csv_stream(organization, filters), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (f'attachment; filename="usage-{organization.name}-{filters.start}-'
                                       f'{filters.end}-{stamp}.csv"')
    return response


async def _csv_stream(organization: Organization, filters: UsageFilters) -> AsyncIterator[str]:
    yield csv_header()
    namespaces = await sync_to_async(namespace_names)(organization=organization)
    cursor = None
    while True:
        page = await sync_to_async(usage_records_page)(organization=organization, filters=filters, cursor=cursor,
                                                        limit=MAX_PAGE)
        keys = await sync_to_async(key_names)(ids={r.api_key_id for r in page.records if r.api_key_id})
        yield csv_rows(page.records, namespaces=namespaces, keys=keys)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
