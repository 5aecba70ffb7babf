"""The composition root's one table for internal actor messages (``StationCore.dispatch``).

The CsmsSession actor forwards every internal message it does not handle itself (connection
control, supervision) to the core; these tests check the table routes each to its block and
that answers go back to the sender through the session's outbox.
"""
from __future__ import annotations

import inspect

import pytest

from actors.csms_session import CsmsSession
from messages.energy import ExternalLimitDone, SetExternalLimit
from messages.evse import (ConnectorStatusChanged, ConnectorStatusSeen, LockProblemChanged,
                           RemoteStartAnswered)
from tests.unit.station_harness import Harness

SENDER = object()          # stands for an actor address


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    harness.boot()
    harness.drain_calls()
    return harness


def outbox(h) -> list:
    return h.session.messages_to_actors()


def test_a_connector_status_reaches_availability_and_is_acknowledged_to_its_sender(h):
    outbox(h)
    assert h.core.dispatch(ConnectorStatusChanged(
        evse_id=1, connector_id=1, status="Occupied", timestamp="2026-01-02T03:04:05.000Z",
        origin="evse-1", sequence=7), SENDER, h.now)
    assert h.core.availability.status_of(1, 1) == "Occupied"
    assert (SENDER, ConnectorStatusSeen(evse_id=1, connector_id=1, origin="evse-1",
                                        sequence=7)) in outbox(h)


def test_an_external_limit_is_answered_to_its_sender(h):
    outbox(h)
    assert h.core.dispatch(SetExternalLimit(evse_id=0, limit=16.0, unit="A", source="EMS"),
                           SENDER, h.now)
    assert (SENDER, ExternalLimitDone(ok=True, error=None)) in outbox(h)


def test_an_answer_nobody_waits_for_is_dropped_quietly(h):
    assert h.core.dispatch(RemoteStartAnswered(correlation_id="none", status="Accepted"),
                           SENDER, h.now)
    assert h.drain_calls() == []


def test_unknown_types_are_not_dispatched(h):
    assert not h.core.dispatch(object(), SENDER, h.now)


def test_the_actor_keeps_no_block_handlers_of_its_own(h):
    own = {name[len("receiveMsg_"):] for name, _ in inspect.getmembers(CsmsSession)
           if name.startswith("receiveMsg_")}
    assert own & {t.__name__ for t in h.core.inbox} == set()
    assert {LockProblemChanged, ConnectorStatusChanged} <= h.core.inbox.keys()
