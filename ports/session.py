"""The session-facing ports: what a block may ask of the OCPP-J session, in small pieces.

``station.session.StationSession`` implements all of them; a block's constructor names only
the ones it uses, so a test can hand it a small fake and a reader can see what it touches.

=================  ========================================================================
port               for
=================  ========================================================================
SessionClock       ``now`` (the monotonic time of the input being handled) and
                   ``wall_clock()`` (the station's clock, for timestamps)
Timers             ``add_timer``: a deadline of the block's own, run from the session's tick
Replies            ``after_reply`` (work once the response is queued, F06.FR.04) and
                   ``defer``/``resolve_deferred`` (an answer another actor gives)
ActorOutbox        ``send_to_actor``: an internal message the actor shell delivers
RegistrationState  ``registration`` and ``is_connected`` (read only)
ConnectionEvents   listeners on registration changes and (re)connects
BootInfo           the reason of the last BootNotification
BootControl        the session's own messages a TriggerMessage asks for
=================  ========================================================================
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Protocol

from messages.ocpp201 import OcppModel, RegistrationStatusEnumType
from ports.outcome import DEFERRED_TIMEOUT_S, Deferred, Reply


class Registration:
    """The registration states of B01-B03 (``StationSession.registration``): the CSMS's
    RegistrationStatusEnumType, and Unknown before its first answer (not a wire value: no
    BootNotificationResponse says it)."""

    UNKNOWN = "Unknown"
    PENDING = RegistrationStatusEnumType.pending
    ACCEPTED = RegistrationStatusEnumType.accepted
    REJECTED = RegistrationStatusEnumType.rejected


class SessionClock(Protocol):
    wall_clock: Callable[[], datetime]

    @property
    def now(self) -> float: ...


class Timers(Protocol):
    @property
    def now(self) -> float: ...

    def add_timer(self, next_deadline: Callable[[], float | None],
                  on_due: Callable[[], None]) -> None: ...


class Replies(Protocol):
    def after_reply(self, work: Callable[[], None]) -> None: ...

    def defer(self, correlation_id: str, message_id: str, action: str,
              finish: Callable[[Any], OcppModel | Reply],
              timeout: float = DEFERRED_TIMEOUT_S) -> Deferred: ...

    def resolve_deferred(self, correlation_id: str, answer: Any, now: float) -> None: ...


class ActorOutbox(Protocol):
    def send_to_actor(self, target: Any, message: Any) -> None: ...


class RegistrationState(Protocol):
    @property
    def registration(self) -> str: ...

    @property
    def is_connected(self) -> bool: ...


class ConnectionEvents(Protocol):
    def on_registration(self, listener: Callable[[str, str, float], None]) -> None: ...

    def on_connected(self, listener: Callable[[float, float | None], None]) -> None: ...


class BootInfo(Protocol):
    @property
    def boot_reason(self) -> str: ...


class BootControl(BootInfo, Protocol):
    def trigger_boot(self) -> None: ...

    def send_heartbeat(self, *, triggered: bool = False) -> None: ...


class SessionPort(SessionClock, Timers, Replies, ActorOutbox, RegistrationState,
                  ConnectionEvents, BootControl, Protocol):
    """Every session-facing port at once; a block should name the few it uses instead."""
