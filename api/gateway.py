"""The seam between the control API and the station: one Protocol, plain dicts, typed errors.

The HTTP layer (:mod:`api.server`) knows nothing about actors. It calls a
:class:`StationGateway`; the station's implementation turns each call into actor asks (the
Evse's ``PlugIn``, ``PresentToken``, ... and their ``OperatorResult``), tests use a fake.
Every method either returns plain JSON-ready data (the ``*View`` shapes below, which are also
the source of the OpenAPI response schemas) or raises one of the errors below; the server maps
the error class to the HTTP status and puts the reason in ``{"error": reason}``.

Error hierarchy (``status`` is the HTTP status the server answers with)::

    GatewayError               (base; never raised itself)
    ├── InvalidRequest   400   the input is well-formed but not acceptable (e.g. no such connector)
    ├── Forbidden        403   the operation is switched off (EnableExternalWebsocketControl)
    ├── UnknownEvse      404   no EVSE with that id
    ├── Conflict         409   the station refuses in its current state (a plug is already in)
    └── Unavailable      503   the station did not answer in time (an actor ask timed out)

Any other exception out of a gateway method is a bug: the server logs it and answers 500
without details. In particular a gateway must translate the simulator's
``SimulatorInputError`` (a ``ValueError``) into :class:`Conflict`; it is not mapped for it.

Thread safety: the server handles each request in its own thread and calls the gateway from
all of them at once, so an implementation must be thread-safe. With Thespian that means one
``ActorSystem().private()`` context per call (or per thread), never a shared
``ActorSystem`` handle: a plain handle is not safe to ``ask`` from several threads.
Calls may block for a few seconds (an actor ask with a timeout); raise :class:`Unavailable`
when the timeout expires rather than blocking forever.
"""
from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

# typing.TypedDict cannot be turned into a JSON schema by pydantic before Python 3.12;
# typing_extensions (a dependency of pydantic) provides the one it accepts.
from typing_extensions import TypedDict

EvInput = Literal["charging", "suspended"]
"""What ``set_ev_state`` accepts: the EV asks for energy, or stops asking (suspended by EV)."""

ConnectorStatus = Literal["Available", "Occupied", "Reserved", "Unavailable", "Faulted"]
"""OCPP 2.0.1 ConnectorStatusEnumType, as sent in StatusNotification."""

Registration = Literal["Unknown", "Pending", "Accepted", "Rejected"]
"""The boot registration state (B01-B03); Unknown until the CSMS answers a BootNotification."""


# -- errors ---------------------------------------------------------------------------------------

class GatewayError(Exception):
    """Base of the errors a gateway may raise; ``str(error)`` is the reason the client sees.

    Attributes:
        status: the HTTP status the control API answers with.
    """

    status: int = 500

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRequest(GatewayError):
    """The request is well-formed but names something this station does not have."""

    status = 400


class Forbidden(GatewayError):
    """The operation is disabled by configuration."""

    status = 403


class UnknownEvse(GatewayError):
    """No EVSE with this id."""

    status = 404

    def __init__(self, evse_id: int) -> None:
        super().__init__(f"unknown EVSE {evse_id}")
        self.evse_id = evse_id


class Conflict(GatewayError):
    """The station refuses the input in its current state; the reason says why."""

    status = 409


class Unavailable(GatewayError):
    """The station did not answer (an actor is restarting, or the ask timed out)."""

    status = 503


# -- what the gateway returns ---------------------------------------------------------------------

class ConnectorView(TypedDict):
    """One connector of an EVSE."""

    id: int
    status: ConnectorStatus


class TransactionView(TypedDict):
    """The running transaction of an EVSE (E01-E15). Names after TransactionEventRequest."""

    id: str
    seqNo: int
    chargingState: Literal["Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE", "Idle"]
    energy_wh: float
    power_w: float


class ReservationView(TypedDict):
    """The reservation on an EVSE (H01). ``expiry`` is an RFC 3339 UTC date-time."""

    id: int
    id_token: str
    expiry: str


class LimitView(TypedDict):
    """The limit applied to the EVSE's hardware; ``None`` means "no limit" for that field."""

    current_a: float | None
    power_w: float | None
    phases: int | None


class EvseSummary(TypedDict):
    """One EVSE in the station overview."""

    id: int
    connectors: list[ConnectorView]
    transaction_id: str | None


class EvseView(TypedDict):
    """One EVSE in detail: what ``GET /api/evses/{id}`` returns."""

    id: int
    connectors: list[ConnectorView]
    transaction: TransactionView | None
    reservation: ReservationView | None
    applied_limit: LimitView | None
    power_w: float


class CsmsView(TypedDict):
    """The CSMS connection: where, whether the websocket is open, the boot registration."""

    url: str
    connected: bool
    registration: Registration


class StationView(TypedDict):
    """The station overview: what ``GET /api/station`` returns."""

    identity: str
    csms: CsmsView
    evses: list[EvseSummary]


# -- the seam -------------------------------------------------------------------------------------

@runtime_checkable
class StationGateway(Protocol):
    """What the control API needs from a station. Thread-safe; see the module docstring.

    Every ``evse_id`` method raises :class:`UnknownEvse` for an EVSE the station does not have,
    and any method may raise :class:`Unavailable` when the station does not answer in time.
    Commands return once the input is applied (the hardware changed); what the station then
    reports to the CSMS happens asynchronously and shows in later reads.
    """

    def station(self) -> StationView:
        """Identity, CSMS connection and every EVSE in summary."""
        ...

    def evse(self, evse_id: int) -> EvseView:
        """One EVSE: connectors, transaction, reservation, applied limit."""
        ...

    def plug_in(self, evse_id: int, connector_id: int) -> None:
        """A cable is plugged into ``connector_id`` and the EV.

        Raises:
            InvalidRequest: the EVSE has no such connector.
            Conflict: a plug is already in (the simulator's ``SimulatorInputError``).
        """
        ...

    def plug_out(self, evse_id: int) -> None:
        """The cable is pulled out of the EVSE.

        Raises:
            Conflict: nothing is plugged in, or the connector is locked.
        """
        ...

    def present_token(self, evse_id: int, id_token: str, token_type: str) -> None:
        """A token (card, key code, ...) is presented at this EVSE's reader.

        ``token_type`` is an OCPP IdTokenEnumType value; the server has checked it and that
        ``id_token`` has at most 36 characters (IdTokenType.idToken).
        """
        ...

    def set_ev_state(self, evse_id: int, state: EvInput) -> None:
        """The EV starts asking for energy (``charging``) or stops (``suspended``).

        Raises:
            Conflict: no EV is connected.
        """
        ...

    def set_fault(self, evse_id: int, active: bool, code: str) -> None:
        """Raise (``active``) or clear the EVSE fault ``code``."""
        ...

    def set_external_limit(self, evse_id: int, limit: float | None, unit: str,
                           source: str) -> None:
        """An external system (an energy manager) limits EVSE ``evse_id`` (0: the whole
        station) to ``limit`` ``unit`` (A per phase, or W); ``limit`` None releases the limit
        (K11-K13). ``unit`` is A or W and ``source`` a ChargingLimitSourceEnumType other than
        CSO; the server has checked both.

        Raises:
            Conflict: there is no limit to release.
        """
        ...

    def set_lock_failure(self, evse_id: int, connector_id: int, active: bool) -> None:
        """The retention lock of ``connector_id`` jams (``active``) or works again (G05).

        Raises:
            Conflict: the EVSE has no such connector.
        """
        ...

    def set_parking_bay(self, evse_id: int, occupied: bool) -> None:
        """A vehicle enters (``occupied``) or leaves the EVSE's parking bay.

        Raises:
            Conflict: the EVSE has no parking-bay sensor.
        """
        ...

    def csms_disconnect(self) -> None:
        """Close the websocket to the CSMS and stay offline until :meth:`csms_connect`.

        Raises:
            Forbidden: EnableExternalWebsocketControl is false.
        """
        ...

    def csms_connect(self) -> None:
        """Connect to the CSMS again after :meth:`csms_disconnect`.

        Raises:
            Forbidden: EnableExternalWebsocketControl is false.
        """
        ...
