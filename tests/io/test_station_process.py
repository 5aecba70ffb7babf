"""The integration helper StationProcess only ever kills its own actor system.

Its admin port was free when the test picked it; after the station stopped, another process on
the machine (another test run's station, CSMS or actor) may listen on it. ``kill()`` at module
teardown must not SIGKILL that process's group.
"""
import subprocess
import sys
import time

import pytest

from tests.conftest import free_port
from tests.integration.station_process import StationProcess, listener_pid

LISTEN = ("import socket, sys, time\n"
          "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
          "print('ready', flush=True); time.sleep(60)\n")


def _listener(port: int, *extra_args: str) -> subprocess.Popen:
    # Its own session, like the daemonized Thespian admin: killpg must not reach pytest.
    process = subprocess.Popen([sys.executable, "-c", LISTEN, str(port), *extra_args],
                               stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout.readline().strip() == b"ready"
    return process


@pytest.fixture
def port_and_station(tmp_path):
    port = free_port()
    return port, StationProcess(tmp_path / "st", "ws://127.0.0.1:9", port)


def test_kill_spares_another_process_listening_on_the_admin_port(port_and_station):
    port, station = port_and_station
    stranger = _listener(port)
    try:
        started = time.monotonic()
        station.kill()
        assert stranger.poll() is None, "kill() ended a process that is not the station's"
        assert listener_pid(port) == stranger.pid
        assert time.monotonic() - started < 5   # nor waits for it to go away
    finally:
        stranger.kill()
        stranger.wait()


def test_kill_ends_the_stations_own_admin(port_and_station):
    port, station = port_and_station
    # Stands in for the admin: its command line names the station's config, as run.py's does.
    own = _listener(port, "--config", str(station.config_path))
    try:
        station.kill()
        assert own.wait(timeout=5) == -9
        assert listener_pid(port) is None
    finally:
        if own.poll() is None:
            own.kill()
            own.wait()
