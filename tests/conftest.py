"""Fixtures shared by every test layer. Kept minimal on purpose: no autouse fixtures."""
import socket
from collections.abc import Callable

import pytest


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process can take it in between; that
    race is accepted for tests (Thespian admins and CSMS stubs bind it right away).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """The ``free_port`` function itself; call it once per port you need."""
    return free_port
