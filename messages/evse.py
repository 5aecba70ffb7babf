"""Messages to and from the Evse actors.

OCPP content travels as the OCPP models (``messages.ocpp201``): TransactionEvent and
MeterValues requests, idTokens, idTokenInfos and charging profiles, statuses as their enums
(a plain wire string is accepted and becomes the enum member; a wire dict given for a model
field is parsed into the model). They pickle as their wire dicts (``OcppModel.__reduce__``).
"""
from __future__ import annotations

from typing import Literal

from messages.base import Msg
from messages.ocpp201 import (ChangeAvailabilityStatusEnumType, ChargingProfileType,
                              ConnectorStatusEnumType, IdTokenInfoType, IdTokenType,
                              MeterValuesRequest,
                              OperationalStatusEnumType, ReasonEnumType,
                              RequestStartStopStatusEnumType, TransactionEventRequest,
                              TriggerReasonEnumType, UnlockStatusEnumType)

ConnectorStatus = ConnectorStatusEnumType
OperationalStatus = OperationalStatusEnumType


class ConnectorStatusChanged(Msg):
    """An Evse announces a connector's status: at start, after a restart and on every change.

    The CsmsSession decides whether it becomes a StatusNotification (B01.FR.05, B04, G01).
    """

    evse_id: int
    connector_id: int
    status: ConnectorStatus
    timestamp: str
    # Thespian's TCP transport may delay a message, or deliver two of one sender out of order
    # (a transmit that failed is retried later while a newer one goes through): ``origin``
    # names the Evse core and ``sequence`` counts its announcements, so the session never lets
    # an older status overwrite a newer one, and acknowledges what it holds with
    # ConnectorStatusSeen (G01.FR.01). Empty origin: no ordering information.
    origin: str = ""
    sequence: int = 0


class ConnectorStatusSeen(Msg):
    """The session holds announcement ``sequence`` of ``origin`` for this connector: the Evse
    stops announcing it again (station/evse_delivery.py)."""

    evse_id: int
    connector_id: int
    origin: str
    sequence: int


class ChangeEvseAvailability(Msg):
    """ChangeAvailability for one EVSE (connector_id None) or one of its connectors (G03, G04)."""

    correlation_id: str
    evse_id: int
    connector_id: int | None = None
    operational_status: OperationalStatus


class StationAvailabilityChanged(Msg):
    """The station as a whole became Operative or Inoperative (G02, evse id 0)."""

    operational_status: OperationalStatus


class EvseAvailabilityChanged(Msg):
    """Answer to ChangeEvseAvailability: Accepted, Scheduled or Rejected."""

    correlation_id: str
    evse_id: int
    status: ChangeAvailabilityStatusEnumType


class GetEvseStatus(Msg):
    """Ask an Evse for its state (tests, tools, the control API)."""


class EvseStatus(Msg):
    evse_id: int
    pid: int
    operational_status: OperationalStatus
    connectors: dict[int, ConnectorStatus]
    connector_operational_status: dict[int, OperationalStatus]
    # The control API's view (issue 3): None where the EVSE has nothing to say.
    transaction: dict | None = None      # {id, seqNo, chargingState, energy_wh, power_w}
    power_w: float = 0.0
    energy_wh: float = 0.0
    applied_limit: dict | None = None
    reservation: dict | None = None
    faults: list[str] = []


class StationTransactionsChanged(Msg):
    """Whether some EVSE of the station runs a transaction (J01.FR.20: with the station-tier
    AlignedDataCtrlr.SendDuringIdle every EVSE then holds back its clock-aligned values)."""

    any_transaction: bool


class ClockSynchronized(Msg):
    """The station clock's offset to the system clock changed (B01.FR.06): stamp with it."""

    offset_s: float


# -- transactions (Evse <-> CsmsSession) --------------------------------------------------------

class TransactionEventReady(Msg):
    """An Evse has a TransactionEvent for the CSMS; it persisted its state first.

    The Evse keeps it until ``TransactionEventQueued`` with the same ``event_key`` comes back, and
    sends it again after a Directory change (the session may have restarted): at-least-once.
    """

    evse_id: int
    event_key: str           # f"{transactionId}:{seqNo}"
    payload: TransactionEventRequest


class TransactionEventQueued(Msg):
    """The session committed the event to its durable queue."""

    evse_id: int
    event_key: str


class TransactionEventAnswered(Msg):
    """The CSMS answered a TransactionEvent; idTokenInfo (if any) matters to the Evse (E05)."""

    evse_id: int
    transaction_id: str
    id_token_info: IdTokenInfoType | None = None
    id_token: IdTokenType | None = None   # the idToken of the answered event, if it had one


class MeterValuesReady(Msg):
    """Idle / clock-aligned MeterValues (J01) or a triggered one (F06.FR.06)."""

    evse_id: int
    payload: MeterValuesRequest


class AuthorizeToken(Msg):
    """An Evse asks whether a presented token may charge; answered with TokenAuthorized."""

    correlation_id: str
    evse_id: int
    id_token: IdTokenType
    # A RequestStartTransaction's token with AuthorizeRemoteStart (F01.FR.01): a Central token
    # then needs no Authorize (C03.FR.01, C05.FR.01).
    remote_start: bool = False
    # time.monotonic() (system-wide on one host) when the Evse asked, taken before it answered
    # whoever presented the token. The session judges on line / off line as of then: a token
    # presented off line stays an off-line token when this message arrives only after the
    # reconnect (C13.FR.02/05). None: as of arrival.
    asked_at: float | None = None


class TokenAuthorized(Msg):
    correlation_id: str
    id_token_info: IdTokenInfoType
    # Whether the token may charge *here*: False when a reservation keeps this EVSE for
    # another token (H03.FR.01-06), whatever the CSMS said of the token itself.
    allowed: bool = True
    reservation_id: int | None = None    # the reservation the token uses (H01.FR.15)


# -- remote control (CsmsSession -> Evse, answered) ----------------------------------------------

class RemoteStart(Msg):
    correlation_id: str
    evse_id: int
    id_token: IdTokenType
    group_id_token: IdTokenType | None = None
    remote_start_id: int
    charging_profile: ChargingProfileType | None = None
    reservation_id: int | None = None    # the reservation the start uses (H01.FR.15)


class RemoteStartAnswered(Msg):
    correlation_id: str
    status: RequestStartStopStatusEnumType
    transaction_id: str | None = None
    reason: str | None = None


class RemoteStop(Msg):
    correlation_id: str
    transaction_id: str


class RemoteStopAnswered(Msg):
    correlation_id: str
    status: RequestStartStopStatusEnumType


class Unlock(Msg):
    correlation_id: str
    connector_id: int


class UnlockAnswered(Msg):
    correlation_id: str
    status: UnlockStatusEnumType


class TriggerEvse(Msg):
    """TriggerMessage for MeterValues or TransactionEvent at this EVSE (F06.FR.06/07)."""

    requested_message: Literal["MeterValues", "TransactionEvent"]


# -- operator / simulator inputs (control API, demo, tests) ---------------------------------------

class PlugIn(Msg):
    connector_id: int = 1


class PlugOut(Msg):
    pass


class PresentToken(Msg):
    """A token is presented at the EVSE's reader (the control API checked it)."""

    id_token: IdTokenType


class SetEvState(Msg):
    state: Literal["charging", "suspended"]


class SetFault(Msg):
    active: bool
    code: str


class SetLockFailure(Msg):
    """The retention lock of ``connector_id`` jams (``active``) or works again (simulator)."""

    connector_id: int = 1
    active: bool


class LockProblemChanged(Msg):
    """An Evse's retention lock failed to engage (``problem``) or engaged again (G05): the
    session reports ConnectorPlugRetentionLock.Problem with a NotifyEvent (G05.FR.02)."""

    evse_id: int
    connector_id: int
    problem: bool
    timestamp: str


class SetParkingBay(Msg):
    """A vehicle enters (``occupied``) or leaves the parking bay (EVSEs with a bay sensor)."""

    occupied: bool


class OperatorResult(Msg):
    """Answer to an operator input: ok, or why not (maps to HTTP 409)."""

    ok: bool
    error: str | None = None


# -- device-model settings (CsmsSession -> Evse) ------------------------------------------------

class EvseSettingsChanged(Msg):
    """Device-model values an Evse uses changed (SetVariables), or the full set after a start.

    The CsmsSession owns the device model (single writer); the Evse reads it once at start and
    then learns changes from this message. Keys are ``"Component.Variable"`` of the station-level
    component, Actual attribute, no variable instance (e.g. ``"TxCtrlr.TxStartPoint"``); values
    are the variable's string value (``None`` = unset: the Evse's default applies). Keys the
    Evse does not use are ignored. See ``station.evse_core.SETTINGS_KEYS``.
    """

    settings: dict[str, str | None]


class MasterPassStop(Msg):
    """A Master Pass token was presented: end the ongoing transaction (C16.FR.02)."""

    id_token: IdTokenType


class EndTransaction(Msg):
    """End the ongoing transaction now, e.g. before an Immediate reset (B12.FR.04/08)."""

    stopped_reason: ReasonEnumType = ReasonEnumType.immediate_reset
    trigger_reason: TriggerReasonEnumType = TriggerReasonEnumType.reset_command
