"""Fixtures of the integration layer: a test CSMS on 127.0.0.1 per module."""
import pytest

from simulators.csms import CsmsServer


@pytest.fixture(scope="module")
def csms():
    """The test CSMS, quiet, answering BootNotification Accepted with interval 300."""
    server = CsmsServer(log=lambda line: None, heartbeat_interval=300)
    server.start()
    try:
        yield server
    finally:
        server.stop()
