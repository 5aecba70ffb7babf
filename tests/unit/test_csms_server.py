"""Tests for simulators/csms/server.py that need no socket: the blocking API before start.

The server over real sockets is tested in tests/io/test_csms_server.py.
"""

from __future__ import annotations

import time

import pytest

from simulators.csms import CsmsServer


def quiet(**kwargs):
    return CsmsServer(log=lambda line: None, **kwargs)


def test_an_empty_host_is_refused_because_it_would_bind_every_interface():
    with pytest.raises(ValueError):
        quiet(host="")


def test_boot_status_is_checked_and_can_be_changed_later():
    with pytest.raises(ValueError):
        quiet(boot_status="Maybe")
    server = quiet(heartbeat_interval=7)
    server.boot_status = "Rejected"
    assert server.default_answer("CS", "BootNotification", {}) | {"currentTime": ""} == {
        "currentTime": "", "interval": 7, "status": "Rejected"}


@pytest.mark.parametrize("use", [
    lambda s: s.call("CS", "Reset", {"type": "Immediate"}),
    lambda s: s.send_raw("CS", "[]"),
    lambda s: s.disconnect("CS"),
])
def test_a_server_that_is_not_running_raises_connection_error(use):
    with pytest.raises(ConnectionError, match="not running"):
        use(quiet())


def test_stop_before_start_does_nothing():
    quiet().stop()


def test_min_wait_s_is_the_shortest_wait_whatever_the_caller_asked():
    """Integration tests allow a station message the actor transport's retry period
    (tests/integration/conftest.py); a wait never gives up before ``min_wait_s``."""
    server = quiet(min_wait_s=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        server.wait_for("Heartbeat", identity="nobody", timeout=0.01)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        server.wait_raw("nobody", timeout=0.01)
    assert time.monotonic() - started >= 0.3
