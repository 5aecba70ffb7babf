"""The unit layer's guard (tests/unit/conftest.py) refuses every kind of real I/O it names."""
import socket
import subprocess
import sys

import pytest
from thespian.actors import ActorSystem

from tests.unit.conftest import UnitLayerIOError


def test_a_socket_cannot_be_opened():
    with pytest.raises(UnitLayerIOError, match="sockets"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_a_subprocess_cannot_be_started():
    with pytest.raises(UnitLayerIOError, match="subprocesses"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_an_actor_system_cannot_be_started():
    with pytest.raises(UnitLayerIOError, match="ActorSystem"):
        ActorSystem("simpleSystemBase")
