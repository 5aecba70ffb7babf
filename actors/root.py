"""The Root actor: creates every child, hands out addresses, restarts what dies.

Theory of operation
-------------------
``StartStation`` (from run.py or a test) carries the validated configuration. The Root creates
one CsmsSession, one Evse per EVSE, one EnergySink per EVSE id 0..N, and the AuthCache, Display,
System and Security actors; sends each a ``Configure`` and then everyone a ``Directory``. When all
children answered ``ChildReady`` it answers ``StationStarted``.

When a child's process dies (``ChildActorExited``) the Root creates it again with the same role
and index, configures it with ``restarted=True`` (it reloads its state from SQLite) and sends a
new Directory to everyone. A :class:`~station.supervision.RestartBudget` bounds this: a child
that keeps dying stops the station with an error that ``GetStationHealth`` reports, instead of
a restart loop.

Before creating children the Root freezes the garbage collector's view of the objects it has
(``gc.freeze``): children are forked from this process, and a collection in a child would
otherwise touch (and so copy) every page of the shared modules. With 260 processes that is the
difference between sharing and duplicating the interpreter's heap.
"""
from __future__ import annotations

import gc
import logging
import time
from datetime import timedelta

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited, WakeupMessage

from actors.base import log_unrecognized
from actors.csms_session import CsmsSession
from actors.evse import Evse
from actors.auth_cache import AuthCache
from actors.display import Display
from actors.energy_sink import EnergySink
from actors.thin import SecurityActor, System
from messages.supervision import (ChildReady, Configure, Directory, GetDirectory,
                                  GetStationHealth, ResetStation, StartStation, StationFailed,
                                  StationHealth,
                                  StationStarted, StationStopped, StopStation)
from station.supervision import RestartBudget
from storage.availability import AvailabilityRepository
from station.evse_core import EVSE_TIER_KEYS, EVSE_TIER_PREFIX, SETTINGS_KEYS
from storage import lite
from storage.evse_repo import read_device_model, read_evse_tier

log = logging.getLogger(__name__)

ROOT_GLOBAL_NAME = "ocpp201-root"

SINGLETONS = {
    "csms_session": CsmsSession,
    "auth_cache": AuthCache,
    "display": Display,
    "system": System,
    "security": SecurityActor,
}
STOP_TIMEOUT = timedelta(seconds=10)
FULL_DIRECTORY_ROLES = {("csms_session", 0), ("energy_sink", 0)}


class Root(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = None
        self.children: dict[tuple[str, int], object] = {}   # (role, index) -> address
        self.ready: set[tuple[str, int]] = set()
        self.budget = RestartBudget()
        self.starter = None
        self.started = False
        self.stopping = False
        self.stop_waiters: list = []
        self.error: str | None = None
        self.boot_reason = "PowerUp"
        self.reset_requested: str | None = None
        self._evse_settings: dict | None = None
        self._evse_tier: dict[int, dict] = {}

    # -- start ----------------------------------------------------------------------------------

    def receiveMsg_StartStation(self, msg: StartStation, sender):
        if self.config is not None:
            self.send(sender, StationStarted(ok=False, error="the station is already started"))
            return
        self.config = msg.config
        self.boot_reason = msg.boot_reason
        self.starter = sender
        if self.config.actor_system.base == "multiprocTCPBase":
            self._prepare_children_heap()
        for role, index in self._layout():
            self._create(role, index, restarted=False)
        self._broadcast_directory()

    def _prepare_children_heap(self) -> None:
        """Do once here what every forked child would otherwise do, then freeze the heap.

        A child that runs code for the first time (sqlite3's statement machinery, lazily built
        module state) allocates it privately; run once here, it is shared by every child.
        """
        connection = lite.connect(self.config.core_db_path, self.config.core_migrations_dir)
        try:
            AvailabilityRepository(connection).all()
        finally:
            connection.close()
        gc.freeze()

    def _layout(self) -> list[tuple[str, int]]:
        n = self.config.evses.count
        keys = [("csms_session", 0)]
        keys += [("evse", i) for i in range(1, n + 1)]
        keys += [("energy_sink", i) for i in range(0, n + 1)]
        keys += [(role, 0) for role in SINGLETONS if role != "csms_session"]
        return keys

    def _create(self, role: str, index: int, *, restarted: bool) -> None:
        cls = SINGLETONS.get(role) or {"evse": Evse, "energy_sink": EnergySink}[role]
        if self.config.actor_system.base == "multiprocTCPBase":
            # What the Root allocated since the last fork would otherwise be scanned (and so
            # copied) by the child's first collections; freezing is a list splice, O(1).
            gc.freeze()
        address = self.createActor(cls)
        self.children[(role, index)] = address
        self.ready.discard((role, index))
        settings = None
        if role == "evse":
            # Fresh after a restart: the CSMS may have changed a value since the start.
            if restarted or self._evse_settings is None:
                path = self.config.device_model_db_path
                self._evse_settings = read_device_model(path, SETTINGS_KEYS)
                self._evse_tier = read_evse_tier(path, EVSE_TIER_KEYS, EVSE_TIER_PREFIX)
            settings = {**self._evse_settings, **self._evse_tier.get(index, {})}
        self.send(address, Configure(role=role, index=index, config=self.config,
                                     restarted=restarted, boot_reason=self.boot_reason,
                                     evse_settings=settings))

    def _directory(self, *, full: bool = True) -> Directory:
        get = self.children.get
        return Directory(
            root=self.myAddress,
            csms_session=get(("csms_session", 0)),
            evses={i: a for (r, i), a in self.children.items() if r == "evse"} if full else {},
            energy_sinks={i: a for (r, i), a in self.children.items() if r == "energy_sink"}
            if full else {},
            auth_cache=get(("auth_cache", 0)),
            display=get(("display", 0)),
            system=get(("system", 0)),
            security=get(("security", 0)),
        )

    def _broadcast_directory(self) -> None:
        # Only the CsmsSession addresses EVSEs and sinks by id. Sending the 257 per-EVSE
        # addresses to each of 262 children would pickle, send and unpickle ~70,000 addresses
        # at every start and every restart, for nothing.
        # An EnergySink n gets its own Evse's address (sink 0, which shares the station's
        # limit among all EVSEs, gets the full directory).
        full, slim = self._directory(), self._directory(full=False)
        for key, address in self.children.items():
            role, index = key
            if key in FULL_DIRECTORY_ROLES:
                directory = full
            elif role == "energy_sink" and ("evse", index) in self.children:
                directory = slim.model_copy(update={"evses": {index: self.children[("evse",
                                                                                    index)]}})
            else:
                directory = slim
            self.send(address, directory)

    def receiveMsg_ChildReady(self, msg: ChildReady, sender):
        self.ready.add((msg.role, msg.index))
        if not self.started and len(self.ready) == len(self.children) and self.starter:
            self.started = True
            log.info("station started: %d actors", len(self.children))
            self.send(self.starter, StationStarted(ok=True))

    def receiveMsg_StationFailed(self, msg: StationFailed, sender):
        self._fail(f"{msg.role} {msg.index}: {msg.reason}")

    # -- supervision ----------------------------------------------------------------------------

    def receiveMsg_ChildActorExited(self, msg: ChildActorExited, sender):
        key = next((k for k, a in self.children.items() if a == msg.childAddress), None)
        if key is None or self.stopping:
            self._maybe_stopped(key)
            return
        del self.children[key]
        if not self.budget.allow(key, time.monotonic()):
            self._fail(f"{key[0]} {key[1]} died {self.budget.max_restarts + 1} times within "
                       f"{self.budget.period:.0f} s; not restarting it again")
            return
        log.warning("%s %d exited; restarting it (restart %d)", key[0], key[1],
                    self.budget.total[key])
        self._create(*key, restarted=True)
        self._broadcast_directory()

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
            log.error("station failed: %s", reason)
        if not self.started and self.starter is not None:
            self.started = True
            self.send(self.starter, StationStarted(ok=False, error=reason))
        self._stop_children()

    # -- queries --------------------------------------------------------------------------------

    def receiveMsg_GetDirectory(self, msg: GetDirectory, sender):
        self.send(sender, self._directory())

    def receiveMsg_GetStationHealth(self, msg: GetStationHealth, sender):
        self.send(sender, StationHealth(
            running=self.started and self.error is None and not self.stopping,
            error=self.error,
            restarts={f"{role}:{index}": n for (role, index), n in self.budget.total.items()},
            reset_requested=self.reset_requested))

    def receiveMsg_ResetStation(self, msg: ResetStation, sender):
        log.warning("station reset requested (next boot: %s)", msg.boot_reason)
        self.reset_requested = msg.boot_reason

    # -- stop -----------------------------------------------------------------------------------

    def receiveMsg_StopStation(self, msg: StopStation, sender):
        self.stop_waiters.append(sender)
        self._stop_children()
        self._maybe_stopped(None)

    def _stop_children(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        # The session first, so the CSMS sees a clean websocket close before anything else goes.
        session = self.children.get(("csms_session", 0))
        if session is not None:
            self.send(session, ActorExitRequest())
        for key, address in self.children.items():
            if key != ("csms_session", 0):
                self.send(address, ActorExitRequest())
        self.wakeupAfter(STOP_TIMEOUT, payload="stop-timeout")

    def _maybe_stopped(self, exited_key) -> None:
        if exited_key is not None:
            self.children.pop(exited_key, None)
        if self.stopping and not self.children:
            self._answer_stop()

    def _answer_stop(self) -> None:
        waiters, self.stop_waiters = self.stop_waiters, []
        for waiter in waiters:
            self.send(waiter, StationStopped())

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender):
        if msg.payload == "stop-timeout" and self.children:
            log.warning("%d children did not stop in time", len(self.children))
            self._answer_stop()

    def receiveMsg_ActorExitRequest(self, msg, sender):
        self._stop_children()

    def receiveUnrecognizedMessage(self, message, sender):
        log_unrecognized(log, "root", message, sender)
