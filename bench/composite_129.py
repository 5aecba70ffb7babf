#!/usr/bin/env python3
"""Composite schedules for 129 energy sinks (EVSE ids 0..128): compute, and deliver to actors.

    python bench/composite_129.py [--evses 128] [--runs 5] [--duration 600] [--deliver]

The station (issue #5) computes, every CompositeScheduleIntervalS, the composite schedule of
every EVSE id for RequestCompositeScheduleDurationS and sends it to that id's EnergySink. The
load here: every EVSE has a stack of 3 profiles of 24 periods each (a Daily Recurring
TxDefaultProfile of hourly periods, an Absolute TxDefaultProfile one stack level higher with
15-minute periods, and a Relative TxProfile of 10-minute periods for a running transaction),
plus a 24-period ChargingStationMaxProfile on EVSE 0; start times differ per EVSE so that no
two EVSEs share period boundaries. The hardware maximum is 32 A per EVSE.

Figures, each the best and the median of ``--runs``:

* ``129 sinks``: the 129 schedules as the block publishes them (EVSEs 1..N, and EVSE 0 with
  the station-level limits the whole-station sink shares out);
* ``EVSE 0 total``: one GetCompositeSchedule for EVSE 0 as K08.FR.03 reports it, the sum of
  all N EVSEs' schedules under the station limits (N composite schedules inside);
* with ``--deliver``: the 129 schedules computed *and* delivered as CompositeScheduleUpdated to
  129 EnergySink actors (``actors/energy_sink.py``) on multiprocTCPBase, until every Evse
  address got its ChargingLimitApplied (sink n: one, sink 0: one per EVSE), measured from
  the start of the computation.

Run by hand; not part of the test suite.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from messages.ocpp201 import ChargingProfileType, CompositeScheduleType  # noqa: E402
from smart_charging.composite import composite_schedule  # noqa: E402

MAX_A = 32.0


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _profile(pid, purpose, stack, kind, periods, *, start=None, duration=None, **extra):
    schedule = {"id": pid, "chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": s, "limit": lim} for s, lim in periods]}
    if start is not None:
        schedule["startSchedule"] = iso(start)
    if duration is not None:
        schedule["duration"] = duration
    # The block keeps profiles as models (parsed once, when they arrive): so does the bench.
    return ChargingProfileType.model_validate({
        "id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind, "chargingSchedule": [schedule], **extra})


def build_profiles(evses: int, now: datetime, seed: int = 5):
    """(installed on, profile) for every EVSE, and the transaction start of each EVSE."""
    rnd = random.Random(seed)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def limits(n, step):
        return [(i * step, float(rnd.randint(6, 40))) for i in range(n)]

    profiles = [(0, _profile(1, "ChargingStationMaxProfile", 0, "Absolute", limits(24, 3600),
                             start=now - timedelta(minutes=37), duration=86400))]
    tx_starts = {}
    for n in range(1, evses + 1):
        base = 1000 * n
        profiles.append((n, _profile(base + 1, "TxDefaultProfile", 0, "Recurring",
                                     limits(24, 3600), start=midnight + timedelta(seconds=61 * n),
                                     recurrencyKind="Daily")))
        profiles.append((n, _profile(base + 2, "TxDefaultProfile", 1, "Absolute", limits(24, 900),
                                     start=now - timedelta(seconds=rnd.randint(0, 3000)),
                                     duration=6 * 3600)))
        profiles.append((n, _profile(base + 3, "TxProfile", 0, "Relative", limits(24, 600),
                                     transactionId=f"tx-{n}")))
        tx_starts[n] = now - timedelta(seconds=rnd.randint(0, 7200))
    return profiles, tx_starts


def compute_all(profiles, tx_starts, evses: int, now: datetime, duration: int,
                unit: str = "A") -> list[CompositeScheduleType]:
    """The 129 schedules as the block publishes them (EVSE 0: station-level limits)."""
    by_evse: dict[int, list] = {n: [] for n in range(evses + 1)}
    for on, p in profiles:
        by_evse[on].append((on, p))
    out = [composite_schedule(by_evse[0], evse_id=0, start=now, duration_s=duration, unit=unit,
                              max_current_a=MAX_A * evses)]
    for n in range(1, evses + 1):
        out.append(composite_schedule(by_evse[0] + by_evse[n], evse_id=n, start=now,
                                      duration_s=duration, unit=unit,
                                      transaction_start=tx_starts[n], max_current_a=MAX_A))
    return out


def compute_total(profiles, tx_starts, evses: int, now: datetime,
                  duration: int) -> CompositeScheduleType:
    return composite_schedule(profiles, evse_id=0, start=now, duration_s=duration, unit="A",
                              max_current_a=MAX_A * evses, evse_ids=list(range(1, evses + 1)),
                              transaction_starts=tx_starts,
                              evse_max={n: (MAX_A, None) for n in range(1, evses + 1)})


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), result


# --- delivery to EnergySink actors on multiprocTCPBase --------------------------------------

try:
    from thespian.actors import ActorTypeDispatcher
except ImportError:  # pragma: no cover - thespian is a dependency
    ActorTypeDispatcher = object


class LimitCollector(ActorTypeDispatcher):
    """Stands in for every Evse: counts ChargingLimitApplied and answers when all arrived."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = 0
        self.got = 0
        self.waiter = None
        self.senders: dict[int, int] = {}

    def receiveMsg_tuple(self, msg, sender):
        if msg[0] == "expect":
            self.expected, self.got, self.waiter = msg[1], 0, sender
            self.senders = {}
        elif msg[0] == "count":
            self.send(sender, ("count", self.got, sorted(self.senders.items())))

    def receiveMsg_ChargingLimitApplied(self, msg, sender):
        self.got += 1
        self.senders[msg.sink] = self.senders.get(msg.sink, 0) + 1
        if self.got == self.expected and self.waiter is not None:
            self.send(self.waiter, ("done", self.got))


class Publisher(ActorTypeDispatcher):
    """Plays the CsmsSession: computes the 129 schedules and sends each to its sink."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup = None

    def receiveMsg_dict(self, msg, sender):
        self.setup = msg

    def receiveMsg_str(self, unit, sender):
        s = self.setup
        for sink, update in zip(s["sinks"], updates(s["profiles"], s["tx_starts"], s["evses"],
                                                    s["duration"], unit)):
            self.send(sink, update)


def updates(profiles, tx_starts, evses: int, duration: int, unit: str) -> list:
    """The CompositeScheduleUpdated of every sink, computed now (sink 0 first)."""
    from messages.energy import CompositeScheduleUpdated

    now = datetime.now(timezone.utc).replace(microsecond=0)
    charging = list(range(1, evses + 1))
    return [CompositeScheduleUpdated(evse_id=i, schedule=schedule, computed_at=iso(now),
                                     charging_evses=charging if i == 0 else [])
            for i, schedule in enumerate(compute_all(profiles, tx_starts, evses, now, duration,
                                                     unit))]


def _wait_done(asys, collector, started: float) -> float:
    reply = asys.listen(60)
    elapsed = time.perf_counter() - started
    if not (isinstance(reply, tuple) and reply[0] == "done"):
        raise RuntimeError(f"not every limit arrived: {asys.ask(collector, ('count',), 10)}")
    return elapsed


def deliver(evses: int, duration: int, runs: int) -> None:
    from actors.energy_sink import EnergySink
    from messages.supervision import ChildReady, Configure, Directory
    from station.actor_system import shutdown_actor_system, start_actor_system
    from config.station import parse_config

    logfile = Path(tempfile.mkdtemp(prefix="composite129-")) / "actors.log"
    asys = start_actor_system("multiprocTCPBase", logfile=str(logfile), log_level="WARNING")
    try:
        profiles, tx_starts = build_profiles(evses, datetime.now(timezone.utc))
        config = parse_config({"evses": {"count": evses}})
        t = time.perf_counter()
        collector = asys.createActor(LimitCollector)
        sinks = [asys.createActor(EnergySink) for _ in range(evses + 1)]
        for i, sink in enumerate(sinks):
            reply = asys.ask(sink, Configure(role="energy_sink", index=i, config=config), 60)
            assert isinstance(reply, ChildReady), reply
        directory = Directory(root=collector, evses={n: collector for n in range(1, evses + 1)})
        for sink in sinks:
            asys.tell(sink, directory)
        print(f"  {len(sinks)} EnergySink actors up in {time.perf_counter() - t:.1f} s")
        times = []
        for run in range(runs):
            # A sink tells its Evse(s) only what changed: the unit alternates (A, W) so that
            # every run changes every limit and all 2 * N ChargingLimitApplied go out.
            asys.tell(collector, ("expect", 2 * evses))
            t = time.perf_counter()
            for sink, update in zip(sinks, updates(profiles, tx_starts, evses, duration,
                                                   "AW"[run % 2])):
                asys.tell(sink, update)
            times.append(_wait_done(asys, collector, t))
        print(f"  from outside the actor system (ActorSystem.tell): "
              f"best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms")
        publisher = asys.createActor(Publisher)
        asys.tell(publisher, {"profiles": profiles, "tx_starts": tx_starts, "evses": evses,
                              "duration": duration, "sinks": sinks})
        times = []
        for run in range(runs):
            asys.tell(collector, ("expect", 2 * evses))
            t = time.perf_counter()
            asys.tell(publisher, "AW"[(run + runs) % 2])
            times.append(_wait_done(asys, collector, t))
        print(f"  from an actor, as the CsmsSession sends them:        "
              f"best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms")
        print(f"  (computed + delivered to {len(sinks)} sinks until all {2 * evses} "
              f"ChargingLimitApplied arrived)")
    finally:
        shutdown_actor_system(asys)
        print(f"  actor log: {logfile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evses", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, nargs="+", default=[600, 3600, 86400])
    parser.add_argument("--deliver", action="store_true",
                        help="also deliver to EnergySink actors on multiprocTCPBase")
    args = parser.parse_args()
    now = datetime(2026, 11, 24, 10, 17, 3, tzinfo=timezone.utc)
    profiles, tx_starts = build_profiles(args.evses, now)
    print(f"{args.evses} EVSEs x 3 profiles x 24 periods + a 24-period station maximum "
          f"({len(profiles)} profiles)")
    for duration in args.duration:
        best, median, schedules = timed(
            lambda: compute_all(profiles, tx_starts, args.evses, now, duration), args.runs)
        periods = sum(len(s.charging_schedule_period) for s in schedules)
        print(f"duration {duration:>6} s: {len(schedules)} sinks: best {best * 1000:7.1f} ms, "
              f"median {median * 1000:7.1f} ms ({periods} periods)")
        best, median, total = timed(
            lambda: compute_total(profiles, tx_starts, args.evses, now, duration), args.runs)
        print(f"{'':17}EVSE 0 total: best {best * 1000:7.1f} ms, median {median * 1000:7.1f} ms "
              f"({len(total.charging_schedule_period)} periods)")
    if args.deliver:
        deliver(args.evses, args.duration[0], args.runs)


if __name__ == "__main__":
    if __package__ in (None, ""):
        # Actor classes must be importable by name in the actor processes.
        from bench.composite_129 import main as _main
        _main()
    else:
        main()
