"""What one step of an Evse core asks its actor to do: the intents, and the Outcome of an input.

The actor carries out the intents **in order**: first the saves (:data:`SAVES`), then (after
the answer to the requester) the messages for the CsmsSession (``station/evse_core.py``). So the
durable state is committed before anything that depends on it leaves the process
(ARCHITECTURE.md, "persist before you acknowledge or send").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar, Union

from messages.ocpp201 import (ConnectorStatusEnumType, IdTokenType, MeterValuesRequest,
                              TransactionEventRequest)
from storage.evse_repo import TransactionRow


@dataclass(frozen=True)
class SaveState:
    """Commit ``state`` (EVSE_STATE) and ``running`` (TRANSACTIONS; None deletes the row)."""
    state: dict
    running: TransactionRow | None


@dataclass(frozen=True)
class SaveAvailability:
    """Commit an operational status to AVAILABILITY (connector 0: the EVSE; G03.FR.08)."""
    connector_id: int
    status: str


@dataclass(frozen=True)
class SendTransactionEvent:
    """Hand a TransactionEventRequest to the CsmsSession (TransactionEventReady)."""
    event_key: str
    payload: TransactionEventRequest


@dataclass(frozen=True)
class SendMeterValues:
    """Hand a MeterValuesRequest to the CsmsSession (MeterValuesReady)."""
    payload: MeterValuesRequest


@dataclass(frozen=True)
class RequestAuthorization:
    """Ask the CsmsSession whether ``id_token`` may charge (AuthorizeToken)."""
    correlation_id: str
    id_token: IdTokenType
    remote_start: bool = False       # a RequestStartTransaction's token (F01.FR.01)


@dataclass(frozen=True)
class ReportLockProblem:
    """The connector's retention lock failed to engage (``problem``), or engaged again (G05)."""
    connector_id: int
    problem: bool


@dataclass(frozen=True)
class AnnounceStatus:
    """Tell the CsmsSession a connector's status (ConnectorStatusChanged).

    ``sequence`` counts this core's announcements (the session acknowledges it with
    :meth:`EvseCore.status_seen`); ``at`` is when the status arose. Neither takes part in
    equality: two announcements of the same status are the same news."""
    connector_id: int
    status: ConnectorStatusEnumType
    sequence: int = field(default=0, compare=False)
    at: datetime | None = field(default=None, compare=False)


Intent = Union[SaveState, SaveAvailability, SendTransactionEvent, SendMeterValues,
               RequestAuthorization, AnnounceStatus, ReportLockProblem]
SAVES = (SaveState, SaveAvailability)


Answer = TypeVar("Answer")


@dataclass
class Outcome(Generic[Answer]):
    """What one input produced: ``answer`` for the requester (None if it expects none) and the
    intents to carry out in order (saves first; send the answer after the saves).

    ``Outcome[X]`` names the answer's type, e.g. ``Outcome[UnlockStatusEnumType]``."""

    answer: Answer | None = None
    intents: list[Intent] = field(default_factory=list)
