#!/usr/bin/env python3
"""Boot a 128-EVSE station against the test CSMS and print how long it took and its memory.

    python bench/boot_128.py [--evses 128] [--runs 3]

Measures, per run, from the moment ``python run.py`` is started:
  * connected: the CSMS accepted the websocket;
  * boot accepted: the BootNotification arrived (the CSMS answers it at once);
  * last status: the StatusNotification of the last connector arrived (answered at once);
and then the memory of every process of the station (run.py, the actor-system admin, the
logger and every actor) as the sum of PSS, which counts shared pages once.

Targets (issue #2): under 10 s to the last StatusNotification and under 1.5 GB, on 2 cores.
Run by hand; not part of the test suite.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procstats import format_bytes, pss_bytes, tree_pids  # noqa: E402
from simulators.csms import CsmsServer  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.integration.station_process import StationProcess, listener_pid  # noqa: E402


def one_run(evses: int, workdir: Path) -> dict:
    identity = f"BENCH{int(time.time() * 1000) % 100000}"
    csms = CsmsServer(log=lambda line: None)
    csms.start()
    station = StationProcess(workdir, csms.url_base, free_port(), evses=evses, identity=identity,
                             extra={"logging": {"level": "WARNING"}})
    try:
        started = time.time()
        station.start()
        csms.wait_connected(identity, timeout=120)
        connected = time.time()
        csms.wait_for("BootNotification", identity=identity, timeout=120)
        boot = csms.received("BootNotification", identity)[0].timestamp
        deadline = time.monotonic() + 120
        seen: dict[int, float] = {}
        while len(seen) < evses:
            for record in csms.received("StatusNotification", identity):
                seen.setdefault(record.payload["evseId"], record.timestamp)
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(seen)} of {evses} EVSEs reported")
            time.sleep(0.05)
        last_status = max(seen.values())
        time.sleep(1.0)                 # let start-up allocations settle before measuring
        admin = listener_pid(station.admin_port)
        pids = set(tree_pids(station.process.pid)) | set(tree_pids(admin) if admin else [])
        memory = pss_bytes(pids)
        return {"connected": connected - started, "boot": boot - started,
                "last_status": last_status - started, "pss": memory, "processes": len(pids)}
    finally:
        code = station.stop()
        csms.stop()
        if code != 0:
            print(f"warning: run.py exited with {code}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-boot-") as tmp:
            result = one_run(args.evses, Path(tmp))
        results.append(result)
        print(f"run {run}: connected {result['connected']:.2f} s, boot accepted "
              f"{result['boot']:.2f} s, last StatusNotification {result['last_status']:.2f} s, "
              f"{result['processes']} processes, PSS {format_bytes(result['pss'])} "
              f"({result['pss'] / 1e9:.3f} GB)", flush=True)
    print(f"\n{args.evses} EVSEs, {args.runs} runs: last StatusNotification median "
          f"{statistics.median(r['last_status'] for r in results):.2f} s "
          f"(max {max(r['last_status'] for r in results):.2f} s); PSS median "
          f"{format_bytes(statistics.median(r['pss'] for r in results))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
