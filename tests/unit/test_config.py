"""The configuration file: defaults, validation messages, path resolution."""
from __future__ import annotations

from pathlib import Path

import pytest

from station.config import PROJECT_DIR, ConfigError, OcppSection, load_config, parse_config


def test_shipped_config_is_valid():
    config = load_config(PROJECT_DIR / "config.yaml")
    assert config.csms.url == "embedded" and config.evses.count == 2
    assert config.evses.parking_bay_sensor is False


def test_parking_bay_sensor_is_configurable():
    config = parse_config({"evses": {"parking_bay_sensor": True}}, source="station.yaml")
    assert config.evses.parking_bay_sensor is True


def test_the_evse_driver_is_the_simulator_or_a_named_factory():
    assert parse_config({}, source="station.yaml").evses.driver == "simulated"
    config = parse_config({"evses": {"driver": "site_drivers.modbus:open_evse"}},
                          source="station.yaml")
    assert config.evses.driver == "site_drivers.modbus:open_evse"


def test_everest_keys_and_defaults():
    ocpp = OcppSection()
    assert ocpp.model_dump() == {
        "MessageLogPath": "/tmp/everest_ocpp_logs",
        "CoreDatabasePath": "/tmp/ocpp201",
        "DeviceModelDatabasePath": "device_model_storage.db",
        "DeviceModelDatabaseMigrationPath": "device_model_migrations",
        "DeviceModelConfigPath": "component_config",
        "EnableExternalWebsocketControl": False,
        "MessageQueueResumeDelay": 0,
        "CompositeScheduleIntervalS": 30,
        "RequestCompositeScheduleDurationS": 600,
        "RequestCompositeScheduleUnit": "A",
    }


@pytest.mark.parametrize("data, expected", [
    ({"evses": {"count": 129}}, "evses.count: Input should be less than or equal to 128"),
    ({"evses": {"count": "two"}}, "evses.count: Input should be a valid integer"),
    ({"ocpp": {"MessageLogPth": "/x"}}, "ocpp.MessageLogPth: is not a known key"),
    ({"csms": {"url": "http://example"}}, "csms.url: Value error, must be 'embedded' or a ws://"),
    ({"csms": {"security_profile": 3}}, "csms.security_profile: Input should be 1"),
    ({"actor_system": {"bind_address": "0.0.0.0"}}, "actor_system.bind_address:"),
    ({"ocpp": {"RequestCompositeScheduleUnit": "kW"}}, "ocpp.RequestCompositeScheduleUnit"),
    ({"station": {"identity": "a b"}}, "station.identity: String should match pattern"),
    ({"evses": {"parking_bay_sensor": "maybe"}}, "evses.parking_bay_sensor: Input should be"),
    ({"evses": {"driver": "modbus"}}, "evses.driver: String should match pattern"),
    (["not", "a", "mapping"], "the top level must be a mapping"),
])
def test_bad_values_name_key_and_reason(data, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="station.yaml")
    assert str(info.value).startswith("station.yaml: ")
    assert expected in str(info.value)


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    config = parse_config({"ocpp": {"CoreDatabasePath": "db", "MessageLogPath": "logs"}},
                          base_dir=tmp_path)
    assert config.core_db_path == tmp_path / "db" / "cp.db"
    assert config.message_log_dir == tmp_path / "logs"
    assert config.device_model_db_path == tmp_path / "device_model_storage.db"
    # Shipped folders fall back to the project when the config folder has none.
    assert config.component_config_dir == PROJECT_DIR / "component_config"
    assert config.device_model_migrations_dir == PROJECT_DIR / "migrations" / "device_model"


def test_yaml_syntax_error_is_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("station: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
