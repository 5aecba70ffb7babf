"""A station core on a real (temporary) device model, talked to like a CSMS would, no sockets.

Like h11's ConnectionPair: the test plays the CSMS by reading the frames the core wants to send
and feeding answers back, with time passed in explicitly.
"""
from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

from actors.auth_cache import AuthService
from device_model.model import DeviceModel
from messages.evse import ConnectorStatusChanged
from config.station import PROJECT_DIR, parse_config
from station.core import build_core
from storage.auth_repo import AuthRepository
from storage.availability import AvailabilityRepository
from storage.queue_repo import QueueRepository
from storage import lite

FIXED_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class Harness:
    def __init__(self, tmp_path: Path, *, evses: int = 2, connectors: int = 1,
                 component_config: Path | None = None, with_reservations: bool = True) -> None:
        self.config = parse_config({
            "evses": {"count": evses, "connectors_per_evse": connectors},
            "ocpp": {"CoreDatabasePath": str(tmp_path / "core"),
                     "DeviceModelDatabasePath": str(tmp_path / "dm.db"),
                     "DeviceModelConfigPath": str(component_config or
                                                  PROJECT_DIR / "component_config"),
                     "MessageLogPath": str(tmp_path / "log")},
        }, base_dir=tmp_path)
        self.dm = DeviceModel.open(self.config.device_model_db_path,
                                   self.config.device_model_migrations_dir,
                                   self.config.component_config_dir,
                                   self.config.connectors_per_evse)
        self.repo = AvailabilityRepository(lite.connect(self.config.core_db_path,
                                                        self.config.core_migrations_dir))
        ids = itertools.count(1)
        self.queue_repo = QueueRepository(lite.connect(self.config.core_db_path,
                                                       self.config.core_migrations_dir))
        self.core = build_core(self.config, self.dm, self.repo, self.queue_repo,
                               wall_clock=lambda: FIXED_TIME,
                               new_message_id=lambda: f"cs-{next(ids)}",
                               with_reservations=with_reservations)
        self.session = self.core.session
        self.now = 1000.0
        self._csms_ids = itertools.count(1)
        # The AuthCache actor, in-process: messages to it wait in ``to_auth_cache`` and are
        # handled by the real AuthService after every input (``pump_auth_cache``); set
        # ``auth_cache_up`` False to play an AuthCache that is down (restarting).
        self.auth_service = AuthService(AuthRepository(lite.connect(
            self.config.core_db_path, self.config.core_migrations_dir)))
        self.auth_cache_up = True
        self.to_auth_cache: list = []
        to_actors = self.session.send_to_actor

        def send_to_actor(target, message) -> None:
            if target == ("auth_cache", None):
                self.to_auth_cache.append(message)
            else:
                to_actors(target, message)

        self.session.send_to_actor = send_to_actor

    def pump_auth_cache(self) -> None:
        while self.auth_cache_up and self.to_auth_cache:
            answer = self.auth_service.handle(self.to_auth_cache.pop(0))
            if answer is not None:
                # As the CsmsSession actor does: through the composition root's one table.
                assert self.core.dispatch(answer, ("auth_cache", None), self.now)

    # -- driving the core -----------------------------------------------------------------------

    def connect(self) -> None:
        self.session.connected(self.now)

    def disconnect(self) -> None:
        self.session.disconnected(self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.session.tick(self.now)
        self.pump_auth_cache()

    def announce(self, evse_id: int, connector_id: int, status: str) -> None:
        self.core.availability.connector_status_changed(ConnectorStatusChanged(
            evse_id=evse_id, connector_id=connector_id, status=status,
            timestamp="2026-01-02T03:04:05.000Z"))

    def announce_all(self, status: str = "Available") -> None:
        for evse_id, n in enumerate(self.config.connectors_per_evse, start=1):
            for connector_id in range(1, n + 1):
                self.announce(evse_id, connector_id, status)

    # -- the CSMS side ----------------------------------------------------------------------------

    def sent(self) -> list[list]:
        self.pump_auth_cache()
        return [json.loads(frame) for frame in self.session.data_to_send()]

    def expect_call(self, action: str) -> list:
        frames = self.sent()
        assert len(frames) == 1, f"expected one {action} CALL, got {frames}"
        frame = frames[0]
        assert frame[0] == 2 and frame[2] == action, f"expected {action}, got {frame}"
        return frame

    def answer(self, frame: list, payload: dict) -> None:
        self.session.receive_text(json.dumps([3, frame[1], payload]), self.now)
        self.pump_auth_cache()

    def csms_call(self, action: str, payload: dict) -> list[list]:
        """Send a CALL as the CSMS; returns every frame the station sends in reply."""
        message_id = f"csms-{next(self._csms_ids)}"
        self.session.receive_text(json.dumps([2, message_id, action, payload]), self.now)
        self.pump_auth_cache()
        frames = self.sent()
        assert frames and frames[0][1] == message_id, f"no answer to {action}: {frames}"
        return frames

    def boot(self, status: str = "Accepted", interval: int = 300) -> list:
        self.connect()
        frame = self.expect_call("BootNotification")
        self.answer(frame, {"status": status, "interval": interval,
                            "currentTime": "2026-01-02T03:04:05Z"})
        return frame

    def drain_calls(self, answer: dict | None = None, limit: int = 10_000) -> list[list]:
        """Answer every CALL the station sends (one at a time) until it is quiet."""
        calls = []
        frames = self.sent()
        while frames and len(calls) < limit:
            assert len(frames) == 1, frames
            frame = frames[0]
            assert frame[0] == 2, frame
            calls.append(frame)
            self.answer(frame, answer if answer is not None else default_answer(frame[2]))
            frames = self.sent()
        return calls


def default_answer(action: str) -> dict:
    return {
        "Heartbeat": {"currentTime": "2026-01-02T03:04:05Z"},
        "BootNotification": {"status": "Accepted", "interval": 300,
                             "currentTime": "2026-01-02T03:04:05Z"},
    }.get(action, {})
