"""Fixtures of the integration layer: a test CSMS on 127.0.0.1 per module, and the stations
started against it."""
from collections.abc import Callable

import pytest

from simulators.csms import CsmsServer

from tests.integration.station_process import StationProcess


# The least time any wait for a station message gets before a test fails. What a case asks
# for is usually tighter and meant for a quiet machine; CI has 2 cores shared by ~270 station
# processes and the test, so a slow moment must not fail a test, only a message that never
# comes.
SLOW_MACHINE_ALLOWANCE_S = 45.0


@pytest.fixture(scope="module")
def csms():
    """The test CSMS, quiet, answering BootNotification Accepted with interval 300."""
    server = CsmsServer(log=lambda line: None, heartbeat_interval=300,
                        min_wait_s=SLOW_MACHINE_ALLOWANCE_S)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def start_station(csms, tmp_path_factory, free_port) -> Callable[..., StationProcess]:
    """``start_station(identity, evses=2, extra=None)``: run.py against this module's CSMS,
    returned once it is Accepted and reported every EVSE's connector (the state the OCTT
    calls Booted). Every station it started is ended after the module."""
    started: list[StationProcess] = []

    def start(identity: str, *, evses: int = 2, extra: dict | None = None) -> StationProcess:
        process = StationProcess(tmp_path_factory.mktemp(identity.lower()), csms.url_base,
                                 free_port(), identity=identity, evses=evses, extra=extra)
        started.append(process)
        process.start()
        csms.wait_connected(identity, timeout=60)
        for evse_id in range(1, evses + 1):
            csms.wait_for("StatusNotification", identity=identity, timeout=60,
                          predicate=lambda p, e=evse_id: p["evseId"] == e)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.kill()
