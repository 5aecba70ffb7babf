"""Tests for device_model.reports: NotifyReport pagination (B07.FR.10, B08.FR.14)."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import jsonschema
import pytest
import ocpp.v201
from device_model.reports import NOTIFY_REPORT_OVERHEAD, _encoded_size, notify_report_requests, paginate_report
from messages.ocpp201 import ReportDataType, to_wire

NOTIFY_REPORT_SCHEMA = json.loads(
    (Path(ocpp.v201.__file__).parent / "schemas" / "NotifyReportRequest.json").read_text())


def item(index: int, value: str = "v", **characteristics) -> ReportDataType:
    return ReportDataType.model_validate({
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": f"Variable{index}"},
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadWrite",
                               "persistent": True, "constant": False}],
        "variableCharacteristics": {"dataType": "string", "supportsMonitoring": False,
                                    **characteristics},
    })


def frame_size(page: list[ReportDataType], seq_no: int = 99999) -> int:
    """Bytes of the real OCPP-J CALL carrying this page (worst-case header values)."""
    payload = {"requestId": -2147483648, "generatedAt": "2024-12-31T23:59:59.999999+00:00",
               "tbc": False, "seqNo": seq_no, "reportData": [to_wire(i) for i in page]}
    return len(json.dumps([2, str(uuid.uuid4()), "NotifyReport", payload], separators=(",", ":")).encode())


class TestPaginateReport:
    """paginate_report: both ItemsPerMessage and BytesPerMessage respected, order kept."""

    def test_empty_report_has_no_pages(self):
        assert paginate_report([], 10, 1000) == []

    def test_no_limits_means_one_page(self):
        items = [item(i) for i in range(50)]
        assert paginate_report(items, None, None) == [items]

    def test_items_per_message(self):
        items = [item(i) for i in range(7)]
        pages = paginate_report(items, 3, None)
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [i for p in pages for i in p] == items

    def test_bytes_per_message(self):
        items = [item(i, "x" * 100) for i in range(20)]
        limit = 1200
        pages = paginate_report(items, None, limit)
        assert len(pages) > 1
        assert all(frame_size(p) <= limit for p in pages)
        assert [i for p in pages for i in p] == items

    def test_both_limits_the_stricter_wins(self):
        items = [item(i, "x" * 100) for i in range(20)]
        assert [len(p) for p in paginate_report(items, 2, 100_000)] == [2] * 10
        by_bytes = paginate_report(items, 100, 1200)
        assert all(len(p) < 100 for p in by_bytes) and len(by_bytes) > 1

    def test_an_item_larger_than_a_message_gets_a_page_of_its_own(self):
        items = [item(0), item(1, "x" * 2500), item(2)]  # 2500: the schema's maximum
        pages = paginate_report(items, None, 2000)
        assert pages == [[items[0]], [items[1]], [items[2]]]

    def test_limit_below_the_overhead_puts_one_item_per_page(self):
        items = [item(i) for i in range(3)]
        assert paginate_report(items, None, NOTIFY_REPORT_OVERHEAD // 2) == [[i] for i in items]

    def test_non_ascii_values_are_measured_conservatively(self):
        items = [item(i, "€" * 50) for i in range(10)]
        limit = 1500
        for page in paginate_report(items, None, limit):
            text = json.dumps([2, str(uuid.uuid4()), "NotifyReport",
                               {"requestId": 1, "generatedAt": "2024-01-01T00:00:00Z", "tbc": True, "seqNo": 1,
                                "reportData": [to_wire(i) for i in page]}], separators=(",", ":"),
                              ensure_ascii=False)
            assert len(text.encode("utf-8")) <= limit

    @pytest.mark.parametrize("items_per_message, bytes_per_message", [(0, None), (None, 0), (-1, 100)])
    def test_limits_below_one_are_refused(self, items_per_message, bytes_per_message):
        with pytest.raises(ValueError):
            paginate_report([item(0)], items_per_message, bytes_per_message)

    def test_input_is_not_modified(self):
        items = [item(i) for i in range(5)]
        copy = list(items)
        paginate_report(items, 2, 600)
        assert items == copy


class TestEncodedSize:
    """Items are measured as json.dumps (ASCII escapes) writes them, whatever they hold, so the
    pages are the ones the station cut before the reports were built as models."""

    @pytest.mark.parametrize("value, characteristics", [
        ("plain", {}),
        ("", {"minLimit": 0, "maxLimit": 1000, "unit": "rpm"}),
        ('quote " backslash \\ slash /', {}),
        ("tab\t newline\n nul\x00 unit\x1f", {}),
        ("del\x7f", {}),
        ("€uro ünïcode", {}),
        ("astral \U0001F50C", {}),
        ("e-mobility 0.00001", {}),
        ("x", {"minLimit": 0.5, "maxLimit": 1e16}),
        ("x", {"minLimit": 1.5e-05, "maxLimit": 9e-08}),
        ("x", {"minLimit": -1e-7, "maxLimit": 1e300}),
        ("x", {"minLimit": 0.0001, "maxLimit": 123456.789}),
        ("x" * 2500, {}),
    ])
    def test_size_is_that_of_json_dumps(self, value, characteristics):
        data = item(0, value, **characteristics)
        assert _encoded_size(data) == len(json.dumps(to_wire(data), separators=(",", ":")).encode())

    def test_random_numbers_and_text(self):
        rng = random.Random(7)
        alphabet = "az09 \"\\\x00\x1f\x7fé€\U0001F50C-e."
        for _ in range(2000):
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            limit = rng.choice([rng.randint(-10**6, 10**6), rng.random() * 10 ** rng.randint(-12, 20)])
            data = item(0, value, maxLimit=limit)
            assert _encoded_size(data) == len(json.dumps(to_wire(data), separators=(",", ":")).encode())

    @pytest.mark.parametrize("seed", range(200))
    def test_properties(self, seed):
        # Randomised but deterministic (seeded): no dependency on hypothesis.
        rng = random.Random(seed)
        sizes = [rng.randint(0, 400) for _ in range(rng.randint(0, 40))]
        items_per_message = rng.choice([None, rng.randint(1, 10)])
        bytes_per_message = rng.choice([None, rng.randint(1, 3000)])
        items = [item(i, "y" * size) for i, size in enumerate(sizes)]
        pages = paginate_report(items, items_per_message, bytes_per_message)
        assert [i for p in pages for i in p] == items  # order kept, nothing lost
        assert all(pages)  # no empty page
        for page in pages:
            if items_per_message is not None:
                assert len(page) <= items_per_message
            if bytes_per_message is not None and len(page) > 1:
                assert frame_size(page) <= bytes_per_message
        if items_per_message is None and bytes_per_message is None and items:
            assert len(pages) == 1


class TestNotifyReportRequests:
    """notify_report_requests: seqNo from 0 (B07.FR.10, B08.FR.14), tbc, requestId (B07.FR.04)."""

    def test_sequence_numbers_and_tbc(self):
        items = [item(i) for i in range(5)]
        requests = [to_wire(r) for r in notify_report_requests(items, 42, "2024-05-01T10:00:00Z", 2, None)]
        assert [r["seqNo"] for r in requests] == [0, 1, 2]
        assert [r["tbc"] for r in requests] == [True, True, False]
        assert {r["requestId"] for r in requests} == {42}
        assert [i for r in requests for i in r["reportData"]] == [to_wire(i) for i in items]
        for request in requests:
            jsonschema.validate(request, NOTIFY_REPORT_SCHEMA)

    def test_single_page(self):
        (request,) = notify_report_requests([item(0)], 1, "2024-05-01T10:00:00Z", None, None)
        assert request.seq_no == 0 and request.tbc is False

    def test_empty_report_has_no_requests(self):
        assert notify_report_requests([], 1, "2024-05-01T10:00:00Z", 10, 1000) == []
