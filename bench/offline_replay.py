#!/usr/bin/env python3
"""10,000 TransactionEvents queued while offline, replayed after reconnecting: how long until
the CSMS has them all, and whether any was lost, repeated, reordered or not marked offline.

    python bench/offline_replay.py [--evses 128] [--events 10000] [--resume-delay 0]
                                   [--fail-every 0 --attempt-interval 1] [--profile 0]

How the events are made (no shortcut): the real station (``run.py``, multiprocTCPBase) with
``--evses`` EVSEs runs against the test CSMS on 127.0.0.1 with
``EnableExternalWebsocketControl``. Every EVSE starts charging while online (plug-in, card, EV
charging through the control API), SampledDataCtrlr.TxUpdatedInterval is 1 s, and then the
control API takes the websocket down (``POST /api/csms/disconnect``). The Evse actors go on
producing TransactionEvent Updated, one per EVSE per second, each committed by the CsmsSession
to the durable TRANSACTION_QUEUE. When the table holds ``--events`` rows every EV is unplugged
(one Ended each), and once the table stops growing the count is taken: that is the number of
events the CSMS must receive. Then ``POST /api/csms/connect`` and the clock runs until the CSMS
has received that many.

Checks: every event received after the reconnect carries ``offline: true`` (E04.FR.03,
E11.FR.07), each (transactionId, seqNo) once, seqNo continuous from 0 per transaction over the
whole run (online part included), every transaction Ended, and the queue table empty at the end.

Knobs whose effect is worth seeing:
  * ``--resume-delay S``: EVerest's MessageQueueResumeDelay; the queue waits S seconds after the
    reconnect before sending (not on the first connect).
  * ``--fail-every N --attempt-interval S``: the CSMS answers CALLERROR InternalError to the
    first transmission of every N-th event; E13.FR.03 re-sends it after
    1 x MessageAttemptInterval[TransactionEvent], and the lane waits meanwhile (strict order).

Issue #3 ("Tests and figures"). Run by hand; not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (BenchStation, GetVariablesProbe, SessionProfile,  # noqa: E402
                           cpu_reading, cpu_split, load_average)
from bench.stats import check_sequences, summary_ms  # noqa: E402
from simulators.csms import CallErrorReply  # noqa: E402

REPLAY_TIMEOUT_S = 900


def queued(db: Path) -> int:
    """Rows in TRANSACTION_QUEUE (read with a short-lived connection: WAL readers do not block
    the station's writer, and closing at once lets it checkpoint)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(
            "SELECT COUNT(*) FROM TRANSACTION_QUEUE WHERE MESSAGE_TYPE = 'TransactionEvent'"
        ).fetchone()[0]
    finally:
        connection.close()


class FailingCsms:
    """TransactionEvent handler: CALLERROR to the first transmission of every n-th event."""

    def __init__(self, csms, every: int):
        self._csms, self._every = csms, every
        self._lock = threading.Lock()
        self.count = 0
        self.failed: set[tuple[str, int]] = set()

    def __call__(self, identity: str, payload: dict):
        key = (payload["transactionInfo"]["transactionId"], payload["seqNo"])
        with self._lock:
            self.count += 1
            if self.count % self._every == 0 and key not in self.failed:
                self.failed.add(key)
                return CallErrorReply("InternalError", "benchmark: failing on purpose")
        return self._csms.default_answer(identity, "TransactionEvent", payload)


def run(args) -> int:
    identity = "BENCH-OFFLINE"
    ocpp = {"EnableExternalWebsocketControl": True, "MessageQueueResumeDelay": args.resume_delay}
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp, \
            BenchStation(Path(tmp), args.evses, identity=identity, ocpp=ocpp) as bench:
        csms = bench.csms
        print(f"load average before start: {load_average()}", flush=True)
        boot = bench.boot()
        print(f"booted {args.evses} EVSEs in {boot:.1f} s; CsmsSession pid {bench.session_pid}",
              flush=True)
        settings = {("SampledDataCtrlr", "TxUpdatedInterval"): "1"}
        bench.set_variables(settings)
        if args.fail_every:
            result = csms.call(identity, "SetVariables", {"setVariableData": [{
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "MessageAttemptInterval", "instance": "TransactionEvent"},
                "attributeValue": str(args.attempt_interval)}]})
            print(f"MessageAttemptInterval[TransactionEvent] := {args.attempt_interval}: "
                  f"{result['setVariableResult'][0]['attributeStatus']}")
        bench.start_sessions()
        print(f"{args.evses} transactions Charging online", flush=True)

        bench.api("POST", "/csms/disconnect")
        offline_at = time.monotonic()
        while csms.is_connected(identity):
            time.sleep(0.05)
        mark = csms.mark()
        print(f"offline (load average {load_average()}); queueing...", flush=True)
        while (count := queued(bench.core_db)) < args.events - args.evses:
            if time.monotonic() - offline_at > REPLAY_TIMEOUT_S:
                raise RuntimeError(f"only {count} events queued")
            time.sleep(0.5)
        bench.stop_sessions()
        previous = -1
        while (count := queued(bench.core_db)) != previous or count < args.events:
            previous = count
            time.sleep(2.0)
        offline_for = time.monotonic() - offline_at
        print(f"{count} TransactionEvents queued in {offline_for:.0f} s offline "
              f"({count / offline_for:.0f}/s enqueued); load average {load_average()}",
              flush=True)

        failing = None
        if args.fail_every:
            failing = FailingCsms(csms, args.fail_every)
            csms.set_handler("TransactionEvent", failing)
        pids = bench.pids()
        cpu_before = cpu_reading(pids)
        connect_at = time.time()
        print("reconnecting", flush=True)
        bench.api("POST", "/csms/connect")
        first = last = None
        profile = SessionProfile(bench.session_pid, args.profile, Path(args.profile_output))
        with GetVariablesProbe(csms, identity, args.probe) as probe, profile:
            # Poll the station's queue table, not the CSMS's records: copying 10,000 records
            # in this process would take the GIL from the CSMS thread and slow its answers.
            # A row is deleted once its CALLRESULT arrived; the times come from the records.
            deadline = time.monotonic() + REPLAY_TIMEOUT_S
            while queued(bench.core_db) and time.monotonic() < deadline:
                time.sleep(0.5)
        cpu_after = cpu_reading(pids)
        time.sleep(2.0)                       # anything extra (a duplicate) would arrive now
        replayed = [r for r in csms.received("TransactionEvent", identity) if r.seq > mark]
        if replayed:
            first, last = replayed[0].timestamp, max(r.timestamp for r in replayed)
        left = queued(bench.core_db)
        everything = csms.received("TransactionEvent", identity)
        failed = failing.failed if failing else set()

        def accepted(records):
            # A transmission answered with our own CALLERROR is expected to come again (E13).
            seen_failed: set = set()
            for r in records:
                key = (r.payload["transactionInfo"]["transactionId"], r.payload["seqNo"])
                if key in failed and key not in seen_failed:
                    seen_failed.add(key)
                    continue
                yield key

        check = check_sequences(accepted(everything))
        replay_check = check_sequences(accepted(replayed))
        not_offline = sum(r.payload.get("offline") is not True for r in replayed)
        ended = sum(r.payload["eventType"] == "Ended" for r in everything)
        duration = (last - connect_at) if last else float("nan")

        print(f"\n{args.evses} EVSEs, {count} TransactionEvents queued offline "
              f"(MessageQueueResumeDelay {args.resume_delay} s"
              + (f", CALLERROR on every {args.fail_every}th event, MessageAttemptInterval "
                 f"{args.attempt_interval} s" if args.fail_every else "") + ")")
        print(f"reconnect -> first TransactionEvent at the CSMS: "
              f"{(first - connect_at) if first else float('nan'):.2f} s")
        print(f"reconnect -> all {count} received: {duration:.1f} s = "
              f"{replay_check.events / max(duration, 1e-9):.0f} events/s; first -> last "
              f"{(last - first) if last else float('nan'):.1f} s "
              f"(load average at the end {load_average()}, {os.cpu_count()} CPUs)")
        print(f"received after reconnect: {len(replayed)} transmissions, "
              f"{replay_check.events} accepted, {len(failed)} failed on purpose; "
              f"not marked offline: {not_offline}; left in TRANSACTION_QUEUE: {left}")
        print(f"seqNo over the whole run ({check.events} events, {check.transactions} "
              f"transactions, {ended} Ended): gaps {check.gaps}, duplicates {check.duplicates}, "
              f"out of order {check.out_of_order}, not from 0 {check.not_from_zero}"
              + ("" if check.ok else f"; e.g. {list(check.bad.items())[:3]}"))
        key = lambda r: (r.payload["transactionInfo"]["transactionId"], r.payload["seqNo"])
        resent = {key(r) for r in everything if r.seq <= mark} & {key(r) for r in replayed}
        lost = count - replay_check.events + replay_check.duplicates
        print(f"lost: {max(lost, 0)}; duplicated within the replay: {replay_check.duplicates}; "
              f"received before the disconnect and again after it: {len(resent)} (the event in "
              f"flight when the websocket was cut is sent again: at-least-once, E11.FR.07)")
        if probe.round_trips:
            print(f"GetVariables round trip during the replay: {summary_ms(probe.round_trips)};"
                  f" errors {len(probe.errors)}")
        used = cpu_split(pids, cpu_before, cpu_after, bench.session_pid)
        for kind, seconds in used.items():
            print(f"  CPU {kind}: {seconds:.1f} s ({seconds / max(duration, 1e-9) * 100:.0f}%"
                  f" of one core)")
        profile.print_summary()
        ok = (check.duplicates <= len(resent) and not check.gaps and not check.out_of_order
              and not check.not_from_zero and not not_offline and left == 0 and ended >= args.evses
              and replay_check.events == count)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--resume-delay", type=int, default=0,
                        help="MessageQueueResumeDelay, s")
    parser.add_argument("--fail-every", type=int, default=0,
                        help="CALLERROR to every N-th event's first transmission (0: none)")
    parser.add_argument("--attempt-interval", type=int, default=1,
                        help="MessageAttemptInterval[TransactionEvent], s, with --fail-every")
    parser.add_argument("--probe", type=float, default=0.1, help="GetVariables period, s")
    parser.add_argument("--profile", type=float, default=0,
                        help="py-spy the CsmsSession for this many seconds of the replay")
    parser.add_argument("--profile-output", default="/tmp/offline_replay_session.raw")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
