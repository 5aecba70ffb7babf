"""Reset (B11/B12): restart the station, or refuse to reset a single EVSE.

Theory of operation
-------------------
A station reset restarts every actor process: this block asks the Root (``ResetStation``),
run.py stops the actor tree and starts it again, and the next BootNotification carries the
reason (RemoteReset). Before that:

* without transactions: answer Accepted, then reset (B11.FR.03/04);
* OnIdle with transactions, or with a reservation in force (errata: the station is not idle
  then): answer Scheduled (B12.FR.01) and reset once the last one ended
  (B12.FR.03: they end normally, as E06); the boot then says ScheduledReset, the reason
  BootReasonEnumType has for "a scheduled reset command" (TC_B_21 checks it);
* Immediate with transactions: answer Accepted (B12.FR.02), tell every Evse to end its
  transaction (stoppedReason ImmediateReset, triggerReason ResetCommand: B12.FR.04) and reset
  once the Ended events are in the durable queue; they are delivered after the reboot if the
  CSMS has not answered by then (B12.FR.05). A reset waits at most END_TIMEOUT_S for that.

Resetting a single EVSE is not supported by this station: every generated EVSE component has
AllowReset false (B11.FR.10), and such a request is Rejected (B11.FR.09, B12.FR.09).
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from messages.evse import EndTransaction
from messages.ocpp201 import (BootReasonEnumType, ResetEnumType, ResetRequest, ResetResponse, ResetStatusEnumType,
                              StatusInfoType)
from messages.supervision import ResetStation
from ports.outcome import Reply
from ports.device_model import DeviceModelView
from ports.session import ActorOutbox, Timers

log = logging.getLogger(__name__)

END_TIMEOUT_S = 10.0


class ResetSession(Timers, ActorOutbox, Protocol):
    """The session ports the reset block uses."""


class Reset:
    def __init__(self, session: ResetSession, device_model: DeviceModelView,
                 ongoing: Callable[[], dict[str, int]], *,
                 reservations_pending: Callable[[], bool] = lambda: False) -> None:
        self._session = session
        # Errata: OnIdle also waits for reservations in force (the station is not idle).
        self._reservations_pending = reservations_pending
        self._dm = device_model
        self._ongoing = ongoing
        self.pending: ResetEnumType | None = None    # the type of the reset waiting
        self._deadline: float | None = None
        self._idle_check: float | None = None
        session.add_timer(lambda: self._deadline, self._timed_out)
        # Reservations end without telling this block (expiry, cancel): look once a second.
        session.add_timer(lambda: self._idle_check, self._check_idle)

    def on_reset(self, message_id: str, request: ResetRequest) -> ResetResponse | Reply:
        if request.evse_id is not None:
            allowed = self._dm.get_bool("EVSE", "AllowReset", evse_id=request.evse_id,
                                        default=False)
            if not allowed:
                return ResetResponse(                                      # B11.FR.09, B12.FR.09
                    status=ResetStatusEnumType.rejected,
                    status_info=StatusInfoType(reason_code="UnsupportedRequest",
                                               additional_info="EVSE reset is not supported"))
        on_idle = request.type == ResetEnumType.on_idle
        if not self._ongoing() and not (on_idle and self._reservations_pending()):
            return Reply(ResetResponse(status=ResetStatusEnumType.accepted),     # B11.FR.03
                         then=self._reset)
        if on_idle:
            self.pending = ResetEnumType.on_idle
            self._idle_check = self._session.now + 1.0
            return ResetResponse(status=ResetStatusEnumType.scheduled)         # B12.FR.01
        self.pending = ResetEnumType.immediate
        self._deadline = self._session.now + END_TIMEOUT_S
        return Reply(ResetResponse(status=ResetStatusEnumType.accepted),         # B12.FR.02
                     then=self._end_transactions)

    def _end_transactions(self) -> None:
        for evse_id in sorted(set(self._ongoing().values())):
            self._session.send_to_actor(("evse", evse_id), EndTransaction())  # B12.FR.04

    def transactions_changed(self) -> None:
        """Call after every TransactionEvent queued: the last Ended one triggers a pending
        reset (B12.FR.03)."""
        if self.pending is not None and not self._ongoing() and not (
                self.pending == ResetEnumType.on_idle and self._reservations_pending()):
            self._reset()

    def _check_idle(self) -> None:
        self._idle_check = None
        if self.pending != ResetEnumType.on_idle:
            return
        self.transactions_changed()
        if self.pending == ResetEnumType.on_idle:
            self._idle_check = self._session.now + 1.0

    def _timed_out(self) -> None:
        if self.pending is not None:
            log.warning("reset: transactions did not end in %.0f s; resetting anyway "
                        "(their Ended events follow after the reboot)", END_TIMEOUT_S)
            self._reset()

    def _reset(self) -> None:
        reason = (BootReasonEnumType.scheduled_reset if self.pending == ResetEnumType.on_idle
                  else BootReasonEnumType.remote_reset)
        self.pending = None
        self._deadline = None
        self._idle_check = None
        self._session.send_to_actor(("root", None), ResetStation(boot_reason=reason))
