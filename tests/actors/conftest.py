"""Fixtures of the actor layer: a simpleSystemBase system and a station config in tmp_path."""
import pytest
from thespian.actors import ActorSystem

from config.station import parse_config


@pytest.fixture
def asys():
    system = ActorSystem("simpleSystemBase", transientUnique=True)
    try:
        yield system
    finally:
        system.shutdown()


@pytest.fixture
def station_config(tmp_path, free_port):
    """A config for `evses` EVSEs whose CSMS URL points where nothing listens (the session
    just keeps retrying, which actor tests do not need)."""
    def make(evses: int):
        return parse_config({
            "evses": {"count": evses},
            "csms": {"url": f"ws://127.0.0.1:{free_port()}"},
            "ocpp": {"CoreDatabasePath": str(tmp_path / "core"),
                     "DeviceModelDatabasePath": str(tmp_path / "dm.db"),
                     "MessageLogPath": str(tmp_path / "log")},
            "actor_system": {"base": "simpleSystemBase"},
        }, base_dir=tmp_path)
    return make
