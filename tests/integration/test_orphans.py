"""No actor process outlives its station (issue #9): after a SIGKILL of run.py, of the admin,
or of both, every process of the station exits within seconds, and the admin port is free for
the next run.py."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.station_process import StationProcess, listener_pid

pytestmark = pytest.mark.integration

# Generous for a loaded 2-core machine; the guard itself acts within milliseconds.
GONE_WITHIN_S = 20.0


def station_pids(station: StationProcess) -> set[int]:
    """run.py and every process forked below it: they all keep run.py's command line, which
    names this station's own config file."""
    needle = str(station.config_path).encode()
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":       # a zombie has exited already
            pids.add(int(entry.name))
    return pids


def wait_until_gone(station: StationProcess, *, but: int | None = None) -> set[int]:
    """Poll until no process of the station (except `but`) is left; returns those left at the
    deadline."""
    deadline = time.monotonic() + GONE_WITHIN_S
    while (left := station_pids(station) - {but}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_running(station: StationProcess, timeout: float = 60) -> None:
    """Until run.py has its answer to StartStation (it logs that it runs): the CSMS sees the
    station's messages a moment earlier."""
    deadline = time.monotonic() + timeout
    while "Ctrl-C stops it" not in station.output():
        assert time.monotonic() < deadline, station.output()[-3000:]
        time.sleep(0.1)


@pytest.fixture
def station(start_station, request):
    started = start_station(f"ORPHAN-{request.node.name[-12:].upper()}")
    try:
        wait_running(started)
        yield started
    finally:
        for pid in station_pids(started):            # whatever a failed test left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if started.process is not None and started.process.poll() is None:
            started.process.kill()
        if started.process is not None:
            started.process.wait()


def admin_pid(station: StationProcess) -> int:
    pid = listener_pid(station.admin_port)
    assert pid is not None and pid != station.process.pid
    return pid


def test_killing_run_py_ends_every_actor(station):
    processes = station_pids(station)
    assert len(processes) >= 10                       # run.py, admin, logger, Root, 2+ EVSEs ...
    station.process.kill()
    station.process.wait()
    assert wait_until_gone(station) == set()
    assert listener_pid(station.admin_port) is None   # a new run.py can start here


def test_killing_run_py_and_the_admin_ends_every_actor(station):
    admin = admin_pid(station)
    os.kill(admin, signal.SIGKILL)
    station.process.kill()
    station.process.wait()
    assert wait_until_gone(station) == set()
    assert listener_pid(station.admin_port) is None


def test_killing_the_admin_ends_every_actor_and_run_py_fails(station):
    admin = admin_pid(station)
    os.kill(admin, signal.SIGKILL)
    assert wait_until_gone(station, but=station.process.pid) == set()
    # run.py notices at its next health check that the Root no longer answers, and fails
    # (exit 1: systemd restarts it, see deploy/).
    assert station.process.wait(GONE_WITHIN_S) == 1, station.output()[-3000:]
