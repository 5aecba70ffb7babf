"""Splitting a report into NotifyReportRequest messages (B07/B08).

Pure functions: no device model, no clock, no I/O. ``DeviceModel.report_data``
builds the list of ReportDataType dicts; :func:`paginate_report` cuts it into
pages that respect both ``ItemsPerMessage`` and ``BytesPerMessage`` of
DeviceDataCtrlr (instance GetReport), and :func:`notify_report_requests` turns
the pages into request payloads with ``seqNo`` counting from 0 (B07.FR.10,
B08.FR.14) and ``tbc`` true on every page but the last.

Sizes are measured on the compact JSON (``separators=(",", ":")``, ASCII
escapes, which is never shorter than UTF-8) of each reportData element, plus a
fixed allowance for the OCPP-J frame and the other NotifyReportRequest fields.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["NOTIFY_REPORT_OVERHEAD", "notify_report_requests", "paginate_report"]

#: Bytes reserved per message for everything but the reportData elements:
#: ``[2,"<message id, up to 36>","NotifyReport",{"requestId":..,"generatedAt":"..",
#: "tbc":false,"seqNo":..,"reportData":[...]}]`` is under 200 bytes; the rest
#: is margin.
NOTIFY_REPORT_OVERHEAD = 384


def _encoded_size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":")).encode("utf-8"))


def paginate_report(report_data: list[dict], items_per_message: int | None,
                    bytes_per_message: int | None) -> list[list[dict]]:
    """Cut ``report_data`` into pages for consecutive NotifyReportRequests.

    Every page holds at least one element and at most ``items_per_message``;
    its elements plus :data:`NOTIFY_REPORT_OVERHEAD` fit in
    ``bytes_per_message``. An element too large for any message on its own
    still gets a page of its own (it cannot be split; the CSMS may refuse it).
    Order is kept.

    Args:
        report_data: ReportDataType dicts (wire form).
        items_per_message: ItemsPerMessage limit, or None for no limit.
        bytes_per_message: BytesPerMessage limit, or None for no limit.

    Returns:
        The pages; ``[]`` for an empty report.

    Raises:
        ValueError: a limit is given but below 1.
    """
    if items_per_message is not None and items_per_message < 1:
        raise ValueError(f"items_per_message must be 1 or more, not {items_per_message}")
    if bytes_per_message is not None and bytes_per_message < 1:
        raise ValueError(f"bytes_per_message must be 1 or more, not {bytes_per_message}")
    budget = None if bytes_per_message is None else bytes_per_message - NOTIFY_REPORT_OVERHEAD
    pages: list[list[dict]] = []
    page: list[dict] = []
    used = 0
    for item in report_data:
        size = _encoded_size(item) + 1  # the separating comma
        full = items_per_message is not None and len(page) >= items_per_message
        too_big = budget is not None and used + size > budget
        if page and (full or too_big):
            pages.append(page)
            page, used = [], 0
        page.append(item)
        used += size
    if page:
        pages.append(page)
    return pages


def notify_report_requests(report_data: list[dict], request_id: int, generated_at: str,
                           items_per_message: int | None, bytes_per_message: int | None) -> list[dict]:
    """NotifyReportRequest payloads for a whole report, in sending order.

    Args:
        report_data: ReportDataType dicts, non-empty (an empty result is
            answered with EmptyResultSet and no NotifyReport, B08.FR.15).
        request_id: the requestId of the GetBaseReport/GetReport (B07.FR.04, B08.FR.04).
        generated_at: RFC 3339 timestamp of the report.
        items_per_message / bytes_per_message: see :func:`paginate_report`.

    Returns:
        One payload per page: seqNo 0, 1, ... (B07.FR.10, B08.FR.14); tbc true
        on all but the last.
    """
    pages = paginate_report(report_data, items_per_message, bytes_per_message)
    return [
        {
            "requestId": request_id,
            "generatedAt": generated_at,
            "tbc": seq_no < len(pages) - 1,
            "seqNo": seq_no,
            "reportData": page,
        }
        for seq_no, page in enumerate(pages)
    ]
