"""The Evse actor: one per EVSE; owns its connectors' availability and status.

State that must survive a crash (operational status per EVSE and connector, G03.FR.08) lives in
the core database's AVAILABILITY table; the actor holds only a cache and rebuilds it in
:meth:`configure`, which also runs after the Root restarts it. Every status is announced to the
CsmsSession on start and whenever the Directory changes, so a restarted session or Evse
converges without a special protocol; the session only reports what differs from what the CSMS
was told.
"""
from __future__ import annotations

import logging
import os

from actors.base import ChildActor
from messages.evse import (ChangeEvseAvailability, ClockSynchronized, ConnectorStatusChanged,
                           EvseAvailabilityChanged, EvseStatus, GetEvseStatus,
                           StationAvailabilityChanged)
from station.evse_state import OPERATIVE, EvseState
from station.clock import StationClock
from station.session import iso
from storage.availability import AvailabilityRepository
from storage import lite

log = logging.getLogger(__name__)


class Evse(ChildActor):
    role = "evse"

    def configure(self, msg) -> None:
        self.repo = AvailabilityRepository(lite.connect(self.config.core_db_path,
                                                        self.config.core_migrations_dir))
        self.state = EvseState.load(self.index, self.config.evses.connectors_per_evse,
                                    self.repo.all())
        self._announced: dict[int, str] = {}
        self.clock = StationClock()
        if msg.restarted:
            log.warning("EVSE %d restarted; connectors %s", self.index, self.state.statuses())

    def directory_changed(self) -> None:
        self._announced.clear()
        self._announce()

    def _announce(self) -> None:
        if self.directory is None or self.directory.csms_session is None:
            return
        now = iso(self.clock.now())
        for connector_id, status in self.state.statuses().items():
            if self._announced.get(connector_id) == status:
                continue
            self._announced[connector_id] = status
            self.send(self.directory.csms_session, ConnectorStatusChanged(
                evse_id=self.index, connector_id=connector_id, status=status, timestamp=now))

    def receiveMsg_ChangeEvseAvailability(self, msg: ChangeEvseAvailability, sender):
        operative = msg.operational_status == OPERATIVE
        # Persist before answering (G03.FR.08): a crash after the answer must not undo it.
        self.repo.set(self.index, msg.connector_id or 0, msg.operational_status)
        if msg.connector_id is None:
            self.state.evse_operative = operative
        else:
            self.state.connector_operative[msg.connector_id] = operative
        # G03.FR.03: already in that state is Accepted too. G03.FR.05 (Scheduled while a
        # transaction runs) arrives with transactions.
        self.send(sender, EvseAvailabilityChanged(correlation_id=msg.correlation_id,
                                                  evse_id=self.index, status="Accepted"))
        self._announce()

    def receiveMsg_ClockSynchronized(self, msg: ClockSynchronized, sender):
        self.clock.offset_s = msg.offset_s

    def receiveMsg_StationAvailabilityChanged(self, msg: StationAvailabilityChanged, sender):
        self.state.station_operative = msg.operational_status == OPERATIVE
        self._announce()

    def receiveMsg_GetEvseStatus(self, msg: GetEvseStatus, sender):
        self.send(sender, EvseStatus(
            evse_id=self.index, pid=os.getpid(),
            operational_status=self.state.operational_status(),
            connectors=self.state.statuses(),
            connector_operational_status={c: self.state.operational_status(c)
                                          for c in self.state.connector_ids}))
