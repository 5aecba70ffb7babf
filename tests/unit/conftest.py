"""The rule of the unit layer, enforced: pure logic, no socket, no subprocess, no ActorSystem.

Tests that need real I/O live in tests/io (real adapters: the control API's HTTP server,
run.py as a process), tests/actors (simpleSystemBase) or tests/integration (a real station).

Why an autouse fixture here, when tests/conftest.py has none on purpose: that rule keeps the
shared fixtures explicit for the layers that *use* I/O. This one is no fixture a test asks for
but the layer's boundary, and it has to hold for every test in tests/unit, including the ones
written later. Making the doors raise catches what a scan of the source cannot: a helper,
however indirect, that opens a socket or starts a process. It costs a few attribute swaps per
test.
"""
from __future__ import annotations

import os
import socket
import subprocess

import pytest
import thespian.actors


class UnitLayerIOError(AssertionError):
    """A unit test reached for real I/O."""


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise UnitLayerIOError(f"tests/unit must not use {what}: put the test in tests/io, "
                               "tests/actors or tests/integration, or test the logic without it")
    return refuse


class _NoSocket(socket.socket):
    # A subclass, so isinstance(x, socket.socket) elsewhere still works.
    __init__ = _refuse("sockets")


class _NoPopen(subprocess.Popen):
    __init__ = _refuse("subprocesses")


@pytest.fixture(autouse=True)
def _no_real_io(monkeypatch):
    monkeypatch.setattr(socket, "socket", _NoSocket)
    monkeypatch.setattr(subprocess, "Popen", _NoPopen)
    monkeypatch.setattr(os, "fork", _refuse("os.fork (processes)"))
    monkeypatch.setattr(thespian.actors.ActorSystem, "__init__", _refuse("an ActorSystem"))
