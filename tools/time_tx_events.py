"""Time the metering hot path: 1,000 TransactionEvent(Updated) with 4 sampled values each
(run by hand; not a test).

    python -m tools.time_tx_events [--n 1000]

What a 128-EVSE station does every second per EVSE with TxUpdatedInterval 1: the EVSE's
TransactionMeter samples Energy.Active.Import.Register, Power.Active.Import, Current.Import
and Voltage (one phase), block E builds the Updated event, the Evse wraps it in a
TransactionEventReady (pickled across processes on multiprocTCPBase) and the session
serialises it for the wire. Prints the time per event of each step and the pickle size.
"""
from __future__ import annotations

import argparse
import pickle
import time
from datetime import datetime, timezone

from blocks.meter_samples import MeteringConfig, MeterReading
from blocks.metering import TransactionMeter
from blocks.tx_state import EvseTransactions
from messages.evse import TransactionEventReady
from messages.ocpp201 import OcppModel, to_wire

T0 = 1_700_000_000.0
MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import",
              "Voltage")


def _wire(payload) -> dict:
    return to_wire(payload) if isinstance(payload, OcppModel) else payload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    n = parser.parse_args().n
    config = MeteringConfig(tx_updated_measurands=MEASURANDS, tx_updated_interval=1)
    tx = EvseTransactions(1, tx_start_points=("EVConnected",))
    now = datetime.fromtimestamp(T0, timezone.utc)
    tx.ev_connected(now, 1)
    meter = TransactionMeter(config, started_at=T0, phases=1)
    readings = [MeterReading(energy_active_import_wh=1000.0 + i, power_active_import_w=11000.0,
                             voltage_v=(230.1,), current_a=(16.0,)) for i in range(n)]

    start = time.perf_counter()
    values = [meter.poll(T0 + 1 + i, readings[i]).periodic for i in range(n)]
    t_meter = time.perf_counter() - start

    start = time.perf_counter()
    events = [tx.report(datetime.fromtimestamp(T0 + 1 + i, timezone.utc),
                        meter_values=[values[i]])[0] for i in range(n)]
    t_event = time.perf_counter() - start

    start = time.perf_counter()
    ready = [TransactionEventReady(evse_id=1, event_key=str(i), payload=e)
             for i, e in enumerate(events)]
    blobs = [pickle.dumps(r) for r in ready]
    t_dump = time.perf_counter() - start
    start = time.perf_counter()
    back = [pickle.loads(b) for b in blobs]
    t_load = time.perf_counter() - start

    start = time.perf_counter()
    wires = [_wire(r.payload) for r in back]
    t_wire = time.perf_counter() - start
    assert wires[0]["meterValue"][0]["sampledValue"][0]["value"] == 1000.0

    per = 1e6 / n
    print(f"meter poll        {t_meter * per:8.1f} us/event")
    print(f"TransactionEvent  {t_event * per:8.1f} us/event")
    print(f"ready + pickle    {t_dump * per:8.1f} us/event ({len(blobs[0])} bytes)")
    print(f"unpickle          {t_load * per:8.1f} us/event")
    print(f"to wire dict      {t_wire * per:8.1f} us/event")
    print(f"total             {(t_meter + t_event + t_dump + t_load + t_wire) * per:8.1f} us/event")


if __name__ == "__main__":
    main()
