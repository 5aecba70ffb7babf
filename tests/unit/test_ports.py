"""The ports the blocks depend on (ports/) and the objects the composition root gives them.

A Protocol is only checked by a type checker, which the project does not run; these tests keep
the implementations and the ports from drifting apart, and keep each block's session port
narrower than the whole session (STYLE §2).
"""
from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping

import pytest

from blocks.auth_routing import AuthRouting
from blocks.availability import Availability
from blocks.provisioning import Provisioning
from blocks.remote_control import RemoteControl
from blocks.reservation import Reservations
from blocks.reset import Reset
from blocks.security import Security
from blocks.smart_charging import SmartCharging
from blocks.transactions import OngoingTransactions, Transactions
from device_model.model import DeviceModel
from ports import session as session_ports
from ports.device_model import DeviceModelReporter
from ports.sending import SendPort
from station.sender import Sender
from station.session import StationSession

BLOCKS = [AuthRouting, Availability, Provisioning, RemoteControl, Reservations, Reset, Security,
          SmartCharging, Transactions]


def members(protocol: type) -> set[str]:
    """The names a Protocol asks for (its own and its bases')."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (object, typing.Protocol, typing.Generic) or not getattr(
                klass, "_is_protocol", False):
            continue
        names |= {n for n in vars(klass) if not n.startswith("_")}
        names |= set(getattr(klass, "__annotations__", {}))
    return names


SESSION_PROTOCOLS = [p for _, p in inspect.getmembers(session_ports, inspect.isclass)
                     if getattr(p, "_is_protocol", False) and p.__module__ == session_ports.__name__]


@pytest.mark.parametrize("protocol", SESSION_PROTOCOLS, ids=lambda p: p.__name__)
def test_the_station_session_implements_every_session_port(protocol):
    session = StationSession(identity="CP")
    assert {m for m in members(protocol) if not hasattr(session, m)} == set()


@pytest.mark.parametrize("implementation, protocol", [
    (Sender, SendPort), (DeviceModel, DeviceModelReporter)])
def test_the_implementations_have_what_the_port_asks_for(implementation, protocol):
    assert {m for m in members(protocol) if not hasattr(implementation, m)} == set()


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.__name__)
def test_every_block_names_a_session_port_narrower_than_the_session(block):
    hints = typing.get_type_hints(block.__init__ if block is not AuthRouting else block)
    session_port = hints["session"]
    assert session_port is not StationSession
    assert members(session_port) < members(session_ports.SessionPort)


class TestOngoingTransactions:
    """One owner writes the running transactions; the other blocks get a read-only Mapping."""

    def test_is_a_read_only_mapping_for_its_readers(self):
        ongoing = OngoingTransactions({"tx-1": 1})
        assert isinstance(ongoing, Mapping) and dict(ongoing) == {"tx-1": 1}
        with pytest.raises(TypeError):
            ongoing["tx-2"] = 2                                   # type: ignore[index]

    def test_started_and_ended_say_whether_anything_changed(self):
        ongoing = OngoingTransactions()
        assert ongoing.started("tx-1", 2) and not ongoing.started("tx-1", 2)
        assert ongoing.evse_busy(2) and not ongoing.evse_busy(1)
        assert ongoing.ended("tx-1") and not ongoing.ended("tx-1")
        assert not ongoing


def test_the_composition_root_injects_nothing_into_a_block_after_construction():
    """Blocks get their ports and siblings at construction; build_core assigns no attribute of
    a block (``transactions.reservations = ...`` was how siblings used to meet)."""
    import ast

    import station.core

    tree = ast.parse(inspect.getsource(station.core.build_core))
    blocks = {node.targets[0].id for node in ast.walk(tree)
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
              and node.value.func.id in {b.__name__ for b in BLOCKS}}
    assert {"transactions", "reservations", "smart_charging", "auth"} <= blocks
    injected = [ast.unparse(target) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                and target.value.id in blocks]
    assert injected == []
