"""Functional blocks E and F on the CsmsSession's side: TransactionEvents and remote control.

Theory of operation
-------------------
The Evse actors own their transactions (``blocks/tx_state.py`` runs in each Evse process); this
block is the station-wide part, in the CsmsSession:

* **TransactionEvent delivery.** An Evse sends ``TransactionEventReady`` after persisting its
  state; this block sends it through the port (GUARANTEED: the durable queue) and
  acknowledges with ``TransactionEventQueued``. An Evse sends its events one at a time, in
  seqNo order, and re-sends one not acknowledged within seconds or after a restart of either
  side; the block drops an event whose seqNo is not above the last one queued for its
  transaction, and acknowledges it again: the CSMS sees each event once, in order.
* **The CSMS's answers.** The idTokenInfo of a TransactionEventResponse goes back to the Evse
  (``TransactionEventAnswered``; E05 acts on it).
* **Remote control (F01-F06).** RequestStartTransaction, RequestStopTransaction and
  UnlockConnector are routed to the Evse concerned and answered when it answers
  (``SessionPort.defer``); while the station is not Accepted, remote start and stop are
  Rejected (B02.FR.05). TriggerMessage MeterValues/TransactionEvent is passed to the Evses.
* **Token checks.** An Evse asks ``AuthorizeToken``; the AuthCache decides through
  ``blocks/auth_routing.py`` (local list, cache, Authorize, offline rules). A Master Pass token
  stops every ongoing transaction (C16.FR.02); a personalMessage goes to the Display (C01).
  The idTokenInfo of every TransactionEventResponse also updates the cache (C10.FR.05).
* **Reservations (H).** A token may charge at an EVSE only if the Reservations block allows
  it (``TokenAuthorized.allowed``, H03); an Accepted one claims its reservation, whose id the
  Evse puts in the next TransactionEvent (H01.FR.15); a TransactionEvent with reservationId
  consumes it in any case. RequestStartTransaction is Rejected on an EVSE reserved for another
  token (F01.FR.21/22), and without evseId never picks a reserved or held EVSE (F01.FR.20).
* **GetTransactionStatus (E14)** from the queue and the transactions seen in events.

Handlers take and return the OCPP models; TransactionEvents arrive from the Evses as
``TransactionEventRequest`` and go to the port as such (the durable queue stores their wire
dicts). The Evse's messages carry tokens, idTokenInfos and charging profiles as the models too.
"""
from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from datetime import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, Protocol

from blocks.auth_routing import Decision
from messages.auth import ShowMessage
from messages.evse import (AuthorizeToken, MasterPassStop, MeterValuesReady, RemoteStart,
                           RemoteStartAnswered, RemoteStop, RemoteStopAnswered, TokenAuthorized,
                           TransactionEventAnswered, TransactionEventQueued,
                           TransactionEventReady, TriggerEvse, Unlock, UnlockAnswered)
from messages.ocpp201 import (ChargingProfileType, ConnectorStatusEnumType, EVSEType,
                              GetTransactionStatusRequest,
                              GetTransactionStatusResponse, IdTokenInfoType, IdTokenType,
                              RequestStartStopStatusEnumType,
                              RequestStartTransactionRequest, RequestStartTransactionResponse,
                              RequestStopTransactionRequest, RequestStopTransactionResponse,
                              StatusInfoType, TransactionEventEnumType, TransactionEventRequest,
                              TransactionEventResponse, TriggerMessageStatusEnumType,
                              UnlockConnectorRequest, UnlockConnectorResponse,
                              UnlockStatusEnumType)
from ports.outcome import Deferred
from ports.sending import SendPort
from ports.session import ActorOutbox, Registration, RegistrationState, Replies
from ports.time import parse_ocpp_time

log = logging.getLogger(__name__)

# How many transactions' last seqNo the session remembers to recognise a copy of an event.
# A copy comes at most a few minutes late (Thespian gives up on a transmit after 5); 128 EVSEs
# do not run through a thousand transactions in that time.
REMEMBERED_TRANSACTIONS = 1024


def _created_at(event: TransactionEventRequest) -> datetime | None:
    """When the Evse created the event (its ``timestamp``), for the offline flag."""
    try:
        return parse_ocpp_time(event.timestamp)
    except ValueError:
        return None


class OngoingTransactions(Mapping[str, int]):
    """The transactions running now, transactionId -> EVSE id.

    One owner: :class:`Transactions` writes it (:meth:`started`, :meth:`ended`) as it queues
    the TransactionEvents; every other block gets it as a read-only ``Mapping`` or a query
    (:meth:`evse_busy`) from the composition root.
    """

    def __init__(self, running: Mapping[str, int] | None = None) -> None:
        self._by_id: dict[str, int] = dict(running or {})

    def __getitem__(self, transaction_id: str) -> int:
        return self._by_id[transaction_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def evse_busy(self, evse_id: int) -> bool:
        return evse_id in self._by_id.values()

    def started(self, transaction_id: str, evse_id: int) -> bool:
        """Record a transaction; False if it was known already."""
        if transaction_id in self._by_id:
            return False
        self._by_id[transaction_id] = evse_id
        return True

    def ended(self, transaction_id: str) -> bool:
        """Forget a transaction; False if it was not running."""
        return self._by_id.pop(transaction_id, None) is not None


class TransactionsSession(Replies, RegistrationState, ActorOutbox, Protocol):
    """The session ports this block uses."""


class QueuedEvents(Protocol):
    """What this block reads of the durable queue (``station.message_queue.MessageQueue``)."""

    def pending(self) -> Iterable[Any]: ...

    def has_transaction_messages(self, transaction_id: str | None) -> bool: ...


class TokenValidator(Protocol):
    """Blocks C/D, the AuthCache's session side (``blocks.auth_routing.AuthRouting``)."""

    def validate(self, id_token: IdTokenType, evse_id: int | None,
                 done: Callable[[Decision], None], *, remote_start: bool = False) -> None: ...

    def token_info_seen(self, id_token: IdTokenType, id_token_info: IdTokenInfoType) -> None: ...


class ReservationRules(Protocol):
    """Block H as the transactions see it (``blocks.reservation.Reservations``)."""

    def claim(self, evse_id: int, id_token: IdTokenType,
              group_id_token: IdTokenType | None) -> tuple[bool, int | None]: ...

    def check_token(self, evse_id: int, id_token: IdTokenType,
                    group_id_token: IdTokenType | None) -> tuple[bool, int | None]: ...

    def used(self, reservation_id: int) -> bool: ...

    def is_reserved(self, evse_id: int) -> bool: ...


class RemoteStartProfiles(Protocol):
    """Block K's part in RequestStartTransaction (``blocks.smart_charging.SmartCharging``)."""

    def check_remote_start(self, evse_id: int, profile: ChargingProfileType,
                           ) -> RequestStartTransactionResponse | None: ...

    def remote_start_accepted(self, evse_id: int, remote_start_id: int,
                              profile: ChargingProfileType, transaction_id: str | None) -> None: ...


_REJECTED_START = RequestStartTransactionResponse(status=RequestStartStopStatusEnumType.rejected)


class Transactions:
    """See the module docstring.

    Args:
        session: The session ports used (replies, registration state, actor outbox).
        sender: The sending port.
        queue: The durable queue, for the events queued before a restart and E14.
        connectors_per_evse: The station's layout.
        connector_status: (evse id, connector id) -> the connector's last status.
        ongoing: The running transactions; this block is their only writer.
        auth: Blocks C/D: who may charge.
        reservations: Block H; None: nothing is ever reserved.
        remote_start_profiles: Block K; None: a remote start's profile is ignored (F01.FR.12).
        aligned_measurands: AlignedDataCtrlr.Measurands now (what a triggered MeterValues
            carries, F06.FR.06).
        on_changed: Called when a transaction started or ended.
        event_listeners: Called with (payload, evse id) for every TransactionEvent queued
            (K02.FR.05).
    """

    def __init__(self, session: TransactionsSession, sender: SendPort, queue: QueuedEvents,
                 connectors_per_evse: list[int],
                 connector_status: Callable[[int, int], str | None],
                 ongoing: OngoingTransactions, *, auth: TokenValidator,
                 reservations: ReservationRules | None = None,
                 remote_start_profiles: RemoteStartProfiles | None = None,
                 aligned_measurands: Callable[[], str] = lambda: "Energy.Active.Import.Register",
                 on_changed: Callable[[], None] = lambda: None,
                 event_listeners: Iterable[Callable[[TransactionEventRequest, int | None], None]]
                 = ()) -> None:
        self._session = session
        self._connector_status = connector_status
        self._sender = sender
        self._queue = queue
        self._layout = {evse_id: n for evse_id, n in enumerate(connectors_per_evse, start=1)}
        self.ongoing: Mapping[str, int] = ongoing
        self._ongoing = ongoing
        self._auth = auth
        self._reservations = reservations
        self._profiles = remote_start_profiles
        self._aligned_measurands = aligned_measurands
        self._on_changed = on_changed
        self._event_listeners = tuple(event_listeners)
        # transactionId -> the highest seqNo queued, so an event sent again (the Evse did not
        # hear TransactionEventQueued in time, or the actor transport delivered a late copy)
        # is not queued twice. An Evse sends its events one at a time, in seqNo order
        # (station/evse_core.py), so anything at or below that number is a copy.
        self._last_seq_no: OrderedDict[str, int] = OrderedDict()
        for item in queue.pending():
            if item.action == "TransactionEvent":
                event = TransactionEventRequest.model_validate(item.payload)   # stored as wire
                self._remember(event)
                self._track(event, evse_id=event.evse.id if event.evse else None)

    # -- from the Evses ---------------------------------------------------------------------------

    def transaction_event_ready(self, msg: TransactionEventReady) -> None:
        if not self._already_queued(msg.payload):
            reservation_id = msg.payload.reservation_id
            if reservation_id is not None and self._reservations is not None:
                self._reservations.used(reservation_id)                     # H03.FR.09, H01.FR.15
            queued = self._sender.send("TransactionEvent", msg.payload,
                                       on_result=lambda answer, m=msg: self._answered(m, answer),
                                       created_at=_created_at(msg.payload))
            if not queued:
                log.error("TransactionEvent %s was not queued", msg.event_key)
                return
            self._remember(msg.payload)
            self._track(msg.payload, msg.evse_id)
        self._session.send_to_actor(("evse", msg.evse_id), TransactionEventQueued(
            evse_id=msg.evse_id, event_key=msg.event_key))

    def _already_queued(self, event: TransactionEventRequest) -> bool:
        last = self._last_seq_no.get(event.transaction_info.transaction_id)
        return last is not None and event.seq_no <= last

    def _remember(self, event: TransactionEventRequest) -> None:
        transaction_id = event.transaction_info.transaction_id
        self._last_seq_no[transaction_id] = max(
            event.seq_no, self._last_seq_no.get(transaction_id, -1))
        self._last_seq_no.move_to_end(transaction_id)
        while len(self._last_seq_no) > REMEMBERED_TRANSACTIONS:
            self._last_seq_no.popitem(last=False)

    def _track(self, event: TransactionEventRequest, evse_id: int | None) -> None:
        transaction_id = event.transaction_info.transaction_id
        if event.event_type == TransactionEventEnumType.ended:
            if self._ongoing.ended(transaction_id):
                self._on_changed()
        elif evse_id is not None and self._ongoing.started(transaction_id, evse_id):
            self._on_changed()
        for listener in self._event_listeners:
            listener(event, evse_id)

    def _answered(self, msg: TransactionEventReady, response: TransactionEventResponse) -> None:
        event = msg.payload
        if event.id_token is not None and response.id_token_info is not None:
            self._auth.token_info_seen(event.id_token, response.id_token_info)  # C10.FR.05
        self._session.send_to_actor(("evse", msg.evse_id), TransactionEventAnswered(
            evse_id=msg.evse_id, transaction_id=event.transaction_info.transaction_id,
            id_token_info=response.id_token_info, id_token=event.id_token))

    def meter_values_ready(self, msg: MeterValuesReady) -> None:
        # Not durable unless QueueAllMessages (the queue decides); a missed sample is replaced
        # by the next one.
        self._sender.send("MeterValues", msg.payload)

    def authorize_token(self, msg: AuthorizeToken, reply_to: Any) -> None:
        """An Evse asks whether a token may charge: the AuthCache decides (``auth``,
        blocks C/D), then the reservation rules (H03) and the Master Pass (C16) apply."""
        def answer(decision: Decision) -> None:
            info = decision.id_token_info
            allowed, reservation_id = decision.allowed, None
            if decision.master_pass:
                self._master_pass(msg.id_token)
            if allowed and self._reservations is not None:
                group = info.group_id_token                                # H03.FR.07/08
                # A token at an EVSE with a transaction may only stop it (E07): no claim.
                if not self._ongoing.evse_busy(msg.evse_id):
                    allowed, reservation_id = self._reservations.claim(
                        msg.evse_id, msg.id_token, group)                  # H03.FR.09
                else:
                    allowed, reservation_id = self._reservations.check_token(
                        msg.evse_id, msg.id_token, group)
                if not allowed:
                    # H03.FR.01-06: the EVSE is kept for another token; the idToken itself
                    # may be valid, but it does not start a transaction here.
                    log.info("EVSE %s is reserved for another token", msg.evse_id)
                    reservation_id = None
            personal_message = info.personal_message
            if personal_message is not None:                                # C01: show it
                self._session.send_to_actor(("display", None), ShowMessage(
                    evse_id=msg.evse_id, message=personal_message,
                    reason=f"idTokenInfo {info.status}"))
            self._session.send_to_actor(reply_to, TokenAuthorized(
                correlation_id=msg.correlation_id, id_token_info=info, allowed=allowed,
                reservation_id=reservation_id))

        self._auth.validate(msg.id_token, msg.evse_id, answer, remote_start=msg.remote_start,
                           asked_at=msg.asked_at)

    def _master_pass(self, id_token: IdTokenType) -> None:
        """C16.FR.02: the station has no UI for the Master Pass, so it stops every ongoing
        transaction (stoppedReason MasterPass, TC_C_14/TC_C_49)."""
        for evse_id in sorted(set(self.ongoing.values())):
            log.info("Master Pass: stopping the transaction at EVSE %d", evse_id)
            self._session.send_to_actor(("evse", evse_id), MasterPassStop(id_token=id_token))

    # -- CSMS requests --------------------------------------------------------------------------

    def on_request_start_transaction(self, message_id: str, request: RequestStartTransactionRequest,
                                     ) -> RequestStartTransactionResponse | Deferred:
        if self._session.registration != Registration.ACCEPTED:
            return _REJECTED_START                                         # B02.FR.05
        evse_id = request.evse_id
        if evse_id is None:
            evse_id = self.select_evse()                                   # F01.FR.20
            if evse_id is None:
                return RequestStartTransactionResponse(                    # F01.FR.07
                    status=RequestStartStopStatusEnumType.rejected,
                    status_info=StatusInfoType(reason_code="NotFound",
                                               additional_info="no EVSE is available"))
        if evse_id not in self._layout:
            return RequestStartTransactionResponse(
                status=RequestStartStopStatusEnumType.rejected,
                status_info=StatusInfoType(reason_code="UnknownEvse"))
        reservation_id = None
        if self._reservations is not None:
            allowed, reservation_id = self._reservations.check_token(
                evse_id, request.id_token, request.group_id_token)
            if not allowed:
                return RequestStartTransactionResponse(                    # F01.FR.21/22
                    status=RequestStartStopStatusEnumType.rejected,
                    status_info=StatusInfoType(reason_code="InvalidIdToken",
                                               additional_info=f"EVSE {evse_id} is reserved"))
        profile = request.charging_profile
        if profile is not None and self._profiles is not None:
            rejection = self._profiles.check_remote_start(evse_id, profile)  # F01.FR.26
            if rejection is not None:
                return rejection
        correlation_id = str(uuid.uuid4())
        self._session.send_to_actor(("evse", evse_id), RemoteStart(
            correlation_id=correlation_id, evse_id=evse_id, id_token=request.id_token,
            group_id_token=request.group_id_token, remote_start_id=request.remote_start_id,
            charging_profile=profile, reservation_id=reservation_id))
        return self._session.defer(
            correlation_id, message_id, "RequestStartTransaction",
            lambda answer: self._finish_start(answer, reservation_id, evse_id, request))

    def _finish_start(self, answer: RemoteStartAnswered, reservation_id: int | None,
                      evse_id: int, request: RequestStartTransactionRequest,
                      ) -> RequestStartTransactionResponse:
        accepted = answer.status == RequestStartStopStatusEnumType.accepted
        if accepted and reservation_id is not None and self._reservations is not None:
            self._reservations.used(reservation_id)                         # H03.FR.09
        profile = request.charging_profile
        if accepted and profile is not None and self._profiles:
            self._profiles.remote_start_accepted(                     # F01.FR.10
                evse_id, request.remote_start_id, profile, answer.transaction_id)
        return RequestStartTransactionResponse(
            status=answer.status,
            transaction_id=answer.transaction_id or None,                  # F01.FR.13
            status_info=StatusInfoType(reason_code=answer.reason) if answer.reason else None)

    def select_evse(self) -> int | None:
        """The first EVSE whose connectors are all Available and that has no transaction."""
        busy = set(self.ongoing.values())
        if self._reservations is not None:
            busy |= {e for e in self._layout if self._reservations.is_reserved(e)}  # F01.FR.20
        for evse_id, connectors in self._layout.items():
            if evse_id not in busy and all(
                    self._connector_status(evse_id, c) == ConnectorStatusEnumType.available
                    for c in range(1, connectors + 1)):
                return evse_id
        return None

    def on_request_stop_transaction(self, message_id: str, request: RequestStopTransactionRequest,
                                    ) -> RequestStopTransactionResponse | Deferred:
        rejected = RequestStopTransactionResponse(status=RequestStartStopStatusEnumType.rejected)
        if self._session.registration != Registration.ACCEPTED:
            return rejected                                                # B02.FR.05
        evse_id = self.ongoing.get(request.transaction_id)
        if evse_id is None:
            return rejected                                                # F03.FR.08
        correlation_id = str(uuid.uuid4())
        self._session.send_to_actor(("evse", evse_id), RemoteStop(
            correlation_id=correlation_id, transaction_id=request.transaction_id))
        return self._session.defer(
            correlation_id, message_id, "RequestStopTransaction",
            lambda answer: RequestStopTransactionResponse(status=answer.status))

    def on_unlock_connector(self, message_id: str, request: UnlockConnectorRequest,
                            ) -> UnlockConnectorResponse | Deferred:
        evse_id, connector_id = request.evse_id, request.connector_id
        if evse_id not in self._layout or not 1 <= connector_id <= self._layout[evse_id]:
            return UnlockConnectorResponse(                                # F05.FR.03
                status=UnlockStatusEnumType.unknown_connector)
        correlation_id = str(uuid.uuid4())
        self._session.send_to_actor(("evse", evse_id), Unlock(correlation_id=correlation_id,
                                                              connector_id=connector_id))
        return self._session.defer(
            correlation_id, message_id, "UnlockConnector",
            lambda answer: UnlockConnectorResponse(status=answer.status))

    def on_get_transaction_status(self, message_id: str, request: GetTransactionStatusRequest,
                                  ) -> GetTransactionStatusResponse:
        transaction_id = request.transaction_id
        return GetTransactionStatusResponse(
            messages_in_queue=self._queue.has_transaction_messages(transaction_id),
            ongoing_indicator=(transaction_id in self.ongoing              # E14.FR.02/03
                               if transaction_id is not None else None))

    def trigger(self, requested_message: str,
                evse: EVSEType | None) -> TriggerMessageStatusEnumType:
        """TriggerMessage MeterValues / TransactionEvent (F06.FR.06/07, F06.FR.11).

        Accepted only when the message will be sent (F06.FR.10); with nothing to send the
        answer is Rejected (F06.FR.05): a TransactionEvent needs a transaction on the EVSE (on
        any EVSE when ``evse`` is absent), MeterValues at least one AlignedDataMeasurand.
        """
        rejected = TriggerMessageStatusEnumType.rejected
        evse_id = evse.id if evse is not None else None
        if evse_id is not None and evse_id not in self._layout:
            return rejected
        if requested_message == "TransactionEvent":
            busy = set(self.ongoing.values())
            if not busy or (evse_id and evse_id not in busy):
                return rejected
        elif requested_message == "MeterValues" and not self._aligned_measurands().strip():
            return rejected
        target = ("evse", evse_id) if evse_id else ("evses", None)
        self._session.after_reply(lambda: self._session.send_to_actor(
            target, TriggerEvse(requested_message=requested_message)))
        return TriggerMessageStatusEnumType.accepted


__all__ = ["Transactions", "RemoteStopAnswered", "UnlockAnswered"]
