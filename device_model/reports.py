"""Splitting a report into NotifyReportRequest messages (B07/B08).

Pure functions: no device model, no clock, no I/O. ``DeviceModel.report_data``
builds the list of ``ReportDataType`` models; :func:`paginate_report` cuts it
into pages that respect both ``ItemsPerMessage`` and ``BytesPerMessage`` of
DeviceDataCtrlr (instance GetReport), and :func:`notify_report_requests` turns
the pages into ``NotifyReportRequest`` models with ``seqNo`` counting from 0
(B07.FR.10, B08.FR.14) and ``tbc`` true on every page but the last.

Sizes are measured on the compact JSON (``separators=(",", ":")``, ASCII
escapes, which is never shorter than UTF-8) of each reportData element, plus a
fixed allowance for the OCPP-J frame and the other NotifyReportRequest fields.
"""

from __future__ import annotations

import json

from messages.ocpp201 import NotifyReportRequest, ReportDataType, to_wire

__all__ = ["NOTIFY_REPORT_OVERHEAD", "notify_report_requests", "paginate_report"]

#: Bytes reserved per message for everything but the reportData elements:
#: ``[2,"<message id, up to 36>","NotifyReport",{"requestId":..,"generatedAt":"..",
#: "tbc":false,"seqNo":..,"reportData":[...]}]`` is under 200 bytes; the rest
#: is margin.
NOTIFY_REPORT_OVERHEAD = 384


def _encoded_size(item: ReportDataType) -> int:
    """Bytes of ``item`` as ``json.dumps(to_wire(item), separators=(",", ":"))`` writes it.

    pydantic writes the same JSON about twice as fast, and it is exactly as long except for
    non-ASCII text (json.dumps escapes it), DEL (json.dumps writes \\u007f) and numbers
    below 1e-4 (json.dumps 1e-05, pydantic 1e-5 or 0.00001): those items are measured the
    slow way, so the pages are the same as with json.dumps for every report.
    """
    text = item.model_dump_json(by_alias=True, exclude_none=True)
    if text.isascii() and "\x7f" not in text and "e-" not in text and "0.0000" not in text:
        return len(text)
    return len(json.dumps(to_wire(item), separators=(",", ":")).encode("utf-8"))


def paginate_report(report_data: list[ReportDataType], items_per_message: int | None,
                    bytes_per_message: int | None) -> list[list[ReportDataType]]:
    """Cut ``report_data`` into pages for consecutive NotifyReportRequests.

    Every page holds at least one element and at most ``items_per_message``;
    its elements plus :data:`NOTIFY_REPORT_OVERHEAD` fit in
    ``bytes_per_message``. An element too large for any message on its own
    still gets a page of its own (it cannot be split; the CSMS may refuse it).
    Order is kept.

    Args:
        report_data: the report's items.
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
    pages: list[list[ReportDataType]] = []
    page: list[ReportDataType] = []
    used = 0
    for item in report_data:
        full = items_per_message is not None and len(page) >= items_per_message
        if budget is None:
            too_big = False
        else:
            size = _encoded_size(item) + 1  # the separating comma
            too_big = used + size > budget
        if page and (full or too_big):
            pages.append(page)
            page, used = [], 0
        page.append(item)
        if budget is not None:
            used += size
    if page:
        pages.append(page)
    return pages


def notify_report_requests(report_data: list[ReportDataType], request_id: int, generated_at: str,
                           items_per_message: int | None,
                           bytes_per_message: int | None) -> list[NotifyReportRequest]:
    """NotifyReportRequests for a whole report, in sending order.

    Args:
        report_data: the report's items, non-empty (an empty result is
            answered with EmptyResultSet and no NotifyReport, B08.FR.15).
        request_id: the requestId of the GetBaseReport/GetReport (B07.FR.04, B08.FR.04).
        generated_at: RFC 3339 timestamp of the report.
        items_per_message / bytes_per_message: see :func:`paginate_report`.

    Returns:
        One request per page: seqNo 0, 1, ... (B07.FR.10, B08.FR.14); tbc true
        on all but the last.
    """
    pages = paginate_report(report_data, items_per_message, bytes_per_message)
    return [
        NotifyReportRequest(request_id=request_id, generated_at=generated_at,
                            tbc=seq_no < len(pages) - 1, seq_no=seq_no, report_data=tuple(page))
        for seq_no, page in enumerate(pages)
    ]
