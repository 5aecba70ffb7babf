#!/usr/bin/env python3
"""128 EVSEs charging at once with TxUpdatedInterval 1 s: TransactionEvent throughput and
GetVariables round trips while it runs.

    python bench/charging_128.py [--evses 128] [--window 60] [--interval 1] [--probe 0.1]
                                 [--settle 20] [--profile 20]

Starts the real station (``run.py``, multiprocTCPBase, logging at WARNING) against the test
CSMS on 127.0.0.1, sets SampledDataCtrlr.TxUpdatedInterval with SetVariables, and through the
control API plugs in, authorizes (the CSMS accepts every card) and lets the EV charge at every
EVSE. Once the CSMS has seen every transaction Charging it measures for ``--window`` seconds:

  * TransactionEvents received by the CSMS per second, and those it acknowledged (CALLRESULT
    sent back); expected: EVSEs / TxUpdatedInterval;
  * the delay from an event's timestamp (when the Evse made it) to its arrival at the CSMS;
  * seqNo per transaction: gaps, duplicates, reordering, checked again over the whole run
    after every EV was unplugged and every transaction Ended;
  * CSMS->station GetVariables round trip p50/p99/max, one request every ``--probe`` s;
  * CPU used in the window by kind of process, and PSS of the station at the end;
  * with ``--profile S`` (needs py-spy), where the CsmsSession spends S seconds of the window.

``--settle`` (default 20 s) lets the burst of Started events and first samples drain first, so
the window sees the steady state.

Issue #3 ("Tests and figures"). Run by hand; not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (BenchStation, GetVariablesProbe, SessionProfile,  # noqa: E402
                           cpu_reading, cpu_split, load_average)
from bench.procstats import format_bytes, pss_bytes  # noqa: E402
from bench.stats import check_sequences, percentile, summary_ms  # noqa: E402

ENDED_TIMEOUT_S = 180


def _acknowledged(csms, identity: str, message_ids: set[str], start: float, end: float) -> int:
    """CALLRESULTs the CSMS sent in [start, end) for the given CALL ids."""
    count = 0
    for frame in csms.frames(identity, "out"):
        if start <= frame.timestamp < end and frame.text.startswith("[3,"):
            if json.loads(frame.text)[1] in message_ids:
                count += 1
    return count


def _event_time(payload: dict) -> float:
    return datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).timestamp()


def run(args) -> int:
    identity = "BENCH-CHARGE"
    with tempfile.TemporaryDirectory(prefix="bench-charging-") as tmp, \
            BenchStation(Path(tmp), args.evses, identity=identity) as bench:
        csms = bench.csms
        print(f"load average before start: {load_average()}", flush=True)
        boot = bench.boot()
        print(f"booted {args.evses} EVSEs in {boot:.1f} s; CsmsSession pid {bench.session_pid}",
              flush=True)
        bench.set_variables({("SampledDataCtrlr", "TxUpdatedInterval"): str(args.interval)})
        started = bench.start_sessions()
        print(f"{args.evses} transactions Charging after {started:.1f} s", flush=True)
        time.sleep(args.settle)

        pids = bench.pids()
        cpu_before = cpu_reading(pids)
        t0 = time.time()
        profile = SessionProfile(bench.session_pid, min(args.profile, args.window),
                                 Path(args.profile_output))
        with GetVariablesProbe(csms, identity, args.probe) as probe, profile:
            time.sleep(args.window)
            t1 = time.time()
        cpu_after = cpu_reading(pids)
        load = load_average()
        pss = pss_bytes(pids["run.py"] | pids["actors"])

        events = csms.received("TransactionEvent", identity)
        in_window = [r for r in events if t0 <= r.timestamp < t1]
        acked = _acknowledged(csms, identity, {r.message_id for r in in_window}, t0, t1 + 5)
        updated = [r for r in in_window if r.payload["eventType"] == "Updated"]
        delays = [r.timestamp - _event_time(r.payload) for r in in_window]
        per_tx: dict[str, list[float]] = {}
        for r in updated:
            per_tx.setdefault(r.payload["transactionInfo"]["transactionId"], []).append(
                _event_time(r.payload))
        spacing = [b - a for times in per_tx.values() for a, b in zip(times, times[1:])]
        window_check = check_sequences(
            (r.payload["transactionInfo"]["transactionId"], r.payload["seqNo"]) for r in events)

        bench.stop_sessions()
        deadline = time.monotonic() + ENDED_TIMEOUT_S
        while True:
            events = csms.received("TransactionEvent", identity)
            ended = sum(r.payload["eventType"] == "Ended" for r in events)
            if ended >= args.evses or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        final_check = check_sequences(
            (r.payload["transactionInfo"]["transactionId"], r.payload["seqNo"]) for r in events)

        window = t1 - t0
        expected = args.evses / args.interval
        print(f"\n{args.evses} EVSEs, TxUpdatedInterval {args.interval} s, window {window:.1f} s"
              f" (load average at the end: {load}; {os.cpu_count()} CPUs)")
        print(f"TransactionEvents received by the CSMS: {len(in_window)} = "
              f"{len(in_window) / window:.1f}/s (expected {expected:.0f}/s); acknowledged: "
              f"{acked} = {acked / window:.1f}/s")
        print(f"  Updated events per transaction: spacing {summary_ms(spacing)}")
        print(f"  delay event timestamp -> CSMS: {summary_ms(delays)}")
        print(f"seqNo (all {window_check.events} events so far, {window_check.transactions} "
              f"transactions): gaps {window_check.gaps}, duplicates {window_check.duplicates}, "
              f"out of order {window_check.out_of_order}, not from 0 {window_check.not_from_zero}")
        print(f"seqNo after unplugging ({ended} of {args.evses} Ended, {final_check.events} "
              f"events): gaps {final_check.gaps}, duplicates {final_check.duplicates}, out of "
              f"order {final_check.out_of_order}, not from 0 {final_check.not_from_zero}"
              + ("" if final_check.ok else f"; e.g. {list(final_check.bad.items())[:3]}"))
        if probe.round_trips:
            print(f"GetVariables round trip (every {args.probe * 1e3:.0f} ms): "
                  f"{summary_ms(probe.round_trips)}, p90 "
                  f"{percentile(probe.round_trips, 90) * 1e3:.1f} ms; errors {len(probe.errors)}"
                  + (f" ({probe.errors[0]})" if probe.errors else ""))
        used = cpu_split(pids, cpu_before, cpu_after, bench.session_pid)
        total = sum(used.values())
        print(f"CPU in the window: {total:.1f} s = {total / window:.2f} cores")
        for kind, seconds in used.items():
            print(f"  {kind}: {seconds:.1f} s ({seconds / window * 100:.0f}% of one core)")
        print(f"station memory (sum of PSS, {len(pids['run.py'] | pids['actors'])} processes): "
              f"{format_bytes(pss)} ({pss / 1e9:.3f} GB)")
        profile.print_summary()
        ok = final_check.ok and not probe.errors and ended >= args.evses
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--window", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--interval", type=int, default=1, help="TxUpdatedInterval, s")
    parser.add_argument("--probe", type=float, default=0.1, help="GetVariables period, s")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds between the last Charging and the window")
    parser.add_argument("--profile", type=float, default=0,
                        help="py-spy the CsmsSession for this many seconds of the window")
    parser.add_argument("--profile-output", default="/tmp/charging_128_session.raw")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
