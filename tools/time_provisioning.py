"""Time the provisioning block on a 128-EVSE device model (run by hand; not a test).

    python -m tools.time_provisioning [--evses 128] [--connectors 1] [--n 20]

Goes through the handlers as the session calls them (``from_wire`` of the request, the block's
``on_<action>``, ``to_wire`` of the response and of every NotifyReport), so it times the whole
path a CSMS request takes after the edge's schema check: a GetBaseReport
FullInventory up to the last NotifyReport payload handed to the session, the same with
ConfigurationInventory, and GetVariables / SetVariables of 50 items each. The device model is
the shipped ``component_config`` in an in-memory database; nothing is sent anywhere.
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone

from blocks.provisioning import Provisioning
from device_model.model import DeviceModel
from config.station import PROJECT_DIR
from messages.ocpp201 import from_wire, to_wire
from ports.outcome import Reply


class _Session:
    """Just enough of StationSession and the sending port for the block: CALL payloads out."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, action, request, **_options) -> bool:
        self.sent.append(to_wire(request))       # what the port hands the session
        return True

    @staticmethod
    def wall_clock() -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _handle(block: Provisioning, action: str, payload: dict) -> dict:
    handler = {"GetBaseReport": block.on_get_base_report, "GetVariables": block.on_get_variables,
               "SetVariables": block.on_set_variables}[action]
    outcome = handler("m-1", from_wire(action, payload, "request"))
    if isinstance(outcome, Reply):
        if outcome.then is not None:
            outcome.then()
        outcome = outcome.response
    return to_wire(outcome)


def _ms(fn, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--connectors", type=int, default=1)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    dm = DeviceModel.open(":memory:", PROJECT_DIR / "migrations" / "device_model",
                          PROJECT_DIR / "component_config", [args.connectors] * args.evses)
    session = _Session()
    block = Provisioning(session, session, dm)

    for base in ("FullInventory", "ConfigurationInventory"):
        def report(base=base):
            session.sent.clear()
            _handle(block, "GetBaseReport", {"requestId": 1, "reportBase": base})
        median, best = _ms(report, args.n)
        items = sum(len(p["reportData"]) for p in session.sent)
        print(f"GetBaseReport {base}: {items} items in {len(session.sent)} NotifyReports, "
              f"median {median:.1f} ms, best {best:.1f} ms")

    # 50 reads/writes spread over the EVSEs (the CSMS's typical ItemsPerMessage).
    get_items = [{"component": {"name": "EVSE", "evse": {"id": 1 + i % args.evses}},
                  "variable": {"name": "AvailabilityState"}} for i in range(50)]
    set_items = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
                  "attributeValue": str(60 + i)} for i in range(50)]
    for action, payload in (("GetVariables", {"getVariableData": get_items}),
                            ("SetVariables", {"setVariableData": set_items})):
        median, best = _ms(lambda: _handle(block, action, payload), args.n)
        print(f"{action} of 50 items: median {median:.2f} ms, best {best:.2f} ms")


if __name__ == "__main__":
    main()
