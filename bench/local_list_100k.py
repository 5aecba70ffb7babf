#!/usr/bin/env python3
"""A Local Authorization List of 100,000 entries: SendLocalList in pages, then lookups.

    python bench/local_list_100k.py [--entries 100000] [--page 100] [--lookups 20000]
                                    [--no-actor]

The CSMS sends a list larger than LocalAuthListCtrlr.ItemsPerMessage (100 as shipped) as a
SendLocalList Full with the first page followed by Differential pages with increasing
versionNumber (D01). Measured twice, on a fresh core database in a temporary folder:

1. **logic**: ``blocks.authorization.Authorization`` on ``storage.auth_repo`` (sqlite3, WAL,
   synchronous NORMAL as the station runs it): the paging time, and the latency of one token
   check (``validate``, LocalPreAuthorize on, a token from the list; one in ten unknown);
2. **actor**: the same through a real AuthCache actor on multiprocTCPBase (loopback), asked
   from this process: every page and every check is a message round trip with pickling, as
   the CsmsSession does it.

Prints the figures; run by hand, not part of the test suite.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blocks.authorization import AUTH_SETTINGS_KEYS, AuthSettings, Authorization  # noqa: E402
from messages.ocpp201 import IdTokenType, SendLocalListRequest, to_wire  # noqa: E402
from storage import lite  # noqa: E402
from storage.auth_repo import AuthRepository  # noqa: E402
from ports.sending import call_frame_size  # noqa: E402

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "core"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
SETTINGS = {key: None for key in AUTH_SETTINGS_KEYS} | {"AuthCtrlr.LocalPreAuthorize": "true"}


def token(i: int) -> dict:
    return {"idToken": f"{i:016X}", "type": "ISO14443"}


def pages(entries: int, page: int):
    """(request, frame bytes) of every SendLocalList the CSMS sends, in order. The request is
    parsed into its model here, as the station's typed handler does, so its cost counts."""
    for version, start in enumerate(range(0, entries, page), start=1):
        items = [{"idToken": token(i), "idTokenInfo": {
            "status": "Accepted", "groupIdToken": {"idToken": f"G{i % 50}", "type": "Central"}}}
            for i in range(start, min(start + page, entries))]
        payload = {"updateType": "Full" if version == 1 else "Differential",
                   "versionNumber": version, "localAuthorizationList": items}
        yield (SendLocalListRequest.model_validate(payload),
               call_frame_size(f"m{version}", "SendLocalList", payload))


def lookup_tokens(entries: int, count: int) -> list[IdTokenType]:
    """Tokens as the ValidateToken message carries them (built before the clock runs)."""
    rng = random.Random(7)
    return [IdTokenType.model_validate(token(rng.randrange(entries)) if i % 10
                                       else token(entries + i)) for i in range(count)]


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3  # noqa: E731
    return (f"p50 {p(0.50):.3f} ms, p99 {p(0.99):.3f} ms, max {ordered[-1] * 1e3:.3f} ms "
            f"(mean {statistics.fmean(ordered) * 1e3:.3f} ms, n={len(ordered)})")


def bench_logic(workdir: Path, entries: int, page: int, lookups: int) -> None:
    repo = AuthRepository(lite.connect(workdir / "logic.db", MIGRATIONS))
    auth = Authorization(repo)
    settings = AuthSettings.from_values(SETTINGS)
    started = time.perf_counter()
    for request, size in pages(entries, page):
        answer = auth.send_local_list(request, settings, frame_bytes=size)
        assert to_wire(answer) == {"status": "Accepted"}, answer
    elapsed = time.perf_counter() - started
    assert repo.list_entries == entries
    print(f"logic: SendLocalList of {entries} entries in {-(-entries // page)} pages: "
          f"{elapsed:.2f} s ({entries / elapsed:,.0f} entries/s); list {repo.list_bytes:,} bytes")
    samples = []
    allowed = 0
    for t in lookup_tokens(entries, lookups):
        t0 = time.perf_counter()
        verdict = auth.validate(t, 1, online=False, settings=settings, now=NOW)
        samples.append(time.perf_counter() - t0)
        allowed += verdict.allowed
    print(f"logic: token check ({allowed} of {lookups} found): {percentiles(samples)}")


def bench_actor(workdir: Path, entries: int, page: int, lookups: int) -> None:
    from actors.auth_cache import AuthCache
    from messages.auth import LocalListUpdated, TokenVerdict, UpdateLocalList, ValidateToken
    from messages.supervision import ChildReady, Configure
    from station.actor_system import shutdown_actor_system, start_actor_system
    from config.station import parse_config

    config = parse_config({"ocpp": {"CoreDatabasePath": str(workdir / "actor"),
                                    "DeviceModelDatabasePath": str(workdir / "dm.db"),
                                    "MessageLogPath": str(workdir / "log")}},
                          base_dir=workdir)
    asys = start_actor_system(log_level="WARNING")
    try:
        actor = asys.createActor(AuthCache)
        assert isinstance(asys.ask(actor, Configure(role="auth_cache", config=config), 30),
                          ChildReady)
        started = time.perf_counter()
        for request, size in pages(entries, page):
            answer = asys.ask(actor, UpdateLocalList(
                correlation_id=str(request.version_number), request=request,
                frame_bytes=size, settings=SETTINGS), 30)
            assert isinstance(answer, LocalListUpdated) and to_wire(answer.response) == {
                "status": "Accepted"}, answer
        elapsed = time.perf_counter() - started
        print(f"actor: SendLocalList of {entries} entries in {-(-entries // page)} pages: "
              f"{elapsed:.2f} s ({entries / elapsed:,.0f} entries/s)")
        samples = []
        for i, t in enumerate(lookup_tokens(entries, lookups)):
            t0 = time.perf_counter()
            verdict = asys.ask(actor, ValidateToken(correlation_id=str(i), id_token=t,
                                                    evse_id=1, online=False,
                                                    settings=SETTINGS, now=NOW), 30)
            samples.append(time.perf_counter() - t0)
            assert isinstance(verdict, TokenVerdict)
        print(f"actor: ValidateToken round trip: {percentiles(samples)}")
    finally:
        shutdown_actor_system(asys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=100,
                        help="entries per SendLocalList (LocalAuthListCtrlr.ItemsPerMessage)")
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--no-actor", action="store_true", help="only the logic")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="locallist-") as tmp:
        bench_logic(Path(tmp), args.entries, args.page, args.lookups)
        if not args.no_actor:
            bench_actor(Path(tmp), args.entries, args.page, min(args.lookups, 5_000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
