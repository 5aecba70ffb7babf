"""Tests for device_model.store and device_model.model (B05, B06, B07, B08)."""

from __future__ import annotations

import json
import sqlite3
import sys
import types
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

import ocpp.v201
from device_model.loader import AttributeSpec, ComponentSpec, MonitorSpec, VariableSpec, load_component_config
from device_model.model import DeviceModel
from device_model.store import DeviceModelStore
from messages.ocpp201 import ComponentType, ComponentVariableType, EVSEType, VariableType, to_wire

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations" / "device_model"
EVEREST_CONFIG = Path("/work/shared/reference/everest-component-config")

try:  # the storage engineer's module; fall back to a tiny runner until it exists
    from storage.database import open_database
except ImportError:  # pragma: no cover - only before storage/database.py exists
    open_database = None


def _fallback_engine(path: str) -> sa.Engine:
    url = "sqlite://" if path == ":memory:" else f"sqlite:///{path}"
    engine = sa.create_engine(url, poolclass=StaticPool) if path == ":memory:" else sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _fk(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    raw = engine.raw_connection()
    try:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        for up in sorted(MIGRATIONS.glob("*_up-*.sql"), key=lambda p: int(p.name.split("_")[0])):
            number = int(up.name.split("_")[0])
            if number > version:
                raw.executescript(up.read_text())
                raw.execute(f"PRAGMA user_version={number}")
        raw.commit()
    finally:
        raw.close()
    return engine


def make_engine(path: str = ":memory:") -> sa.Engine:
    if open_database is not None:
        return open_database(path, MIGRATIONS)
    return _fallback_engine(path)


# --------------------------------------------------------------------------
# A small device model built from specs (no files, no /work/shared)
# --------------------------------------------------------------------------


def var(name, data_type="string", mutability="ReadWrite", value=None, *, instance=None, default=None,
        extra=(), monitors=(), **chars):
    characteristics = {"dataType": data_type, "supportsMonitoring": True, **chars}
    attributes = (AttributeSpec("Actual", mutability, value), *extra)
    return VariableSpec(name=name, instance=instance, characteristics=characteristics, attributes=attributes,
                        default=default, required=False, monitors=tuple(monitors))


def comp(name, *variables, instance=None, evse_id=None, connector_id=None):
    return ComponentSpec(name=name, instance=instance, evse_id=evse_id, connector_id=connector_id,
                         variables=tuple(variables), source_file=None)


STATES = "Available,Occupied,Reserved,Unavailable,Faulted"


def station_specs(**overrides) -> list[ComponentSpec]:
    specs = {
        "ChargingStation": comp(
            "ChargingStation",
            var("AvailabilityState", "OptionList", "ReadOnly", "Available", valuesList=STATES),
            var("Available", "boolean", "ReadOnly", "true"),
            var("Problem", "boolean", "ReadOnly", "false"),
        ),
        "OCPPCommCtrlr": comp(
            "OCPPCommCtrlr",
            var("HeartbeatInterval", "integer", default="300", unit="s", minLimit=1, maxLimit=86400),
            var("MessageTimeout", "integer", "ReadOnly", "30", instance="Default", unit="s"),
            var("NetworkConfigurationPriority", "SequenceList", value="1", valuesList="1,2,3"),
            var("Enabled", "boolean", value="true"),
            var("FileTransferProtocols", "MemberList", "ReadOnly", "HTTPS", valuesList="HTTP,HTTPS,FTP"),
        ),
        "SecurityCtrlr": comp(
            "SecurityCtrlr",
            var("BasicAuthPassword", "string", "WriteOnly", "0123456789abcdef", minLimit=16, maxLimit=40),
            var("Identity", "string", value="CS-1", maxLimit=48),
            var("OrganizationName", "string"),
        ),
        "DeviceDataCtrlr": comp(
            "DeviceDataCtrlr",
            var("ItemsPerMessage", "integer", "ReadOnly", "50", instance="GetReport"),
            var("ItemsPerMessage", "integer", "ReadOnly", "50", instance="GetVariables"),
            var("BytesPerMessage", "integer", "ReadOnly", "8000", instance="GetReport"),
        ),
        "AlignedDataCtrlr": comp(
            "AlignedDataCtrlr",
            var("Interval", "integer", value="900", unit="s", minLimit=5),
            var("Enabled", "boolean", value="false"),
            var("Measurands", "MemberList", value="Energy.Active.Import.Register",
                valuesList="Energy.Active.Import.Register,Power.Active.Import,Voltage"),
        ),
        "ClockCtrlr": comp(
            "ClockCtrlr",
            var("DateTime", "dateTime", "ReadOnly", "2024-01-01T00:00:00Z"),
            var("NextTimeOffsetTransitionDateTime", "dateTime"),
            var("TimeSource", "SequenceList", value="Heartbeat", valuesList="Heartbeat,NTP,GPS"),
        ),
        "Fan": comp(
            "Fan",
            var("FanSpeed", "decimal", "ReadOnly", "300", minLimit=0, maxLimit=1000, unit="rpm",
                extra=(AttributeSpec("Target", "ReadWrite", None), AttributeSpec("MinSet", "ReadWrite", "200"),
                       AttributeSpec("MaxSet", "ReadWrite", "500"))),
            var("Active", "boolean", "ReadOnly", "false"),
            evse_id=1,
        ),
        "TokenReaderFront": comp("TokenReader", var("Enabled", "boolean", value="true"), instance="Front"),
        "TokenReaderRear": comp("TokenReader", var("Enabled", "boolean", value="true"), instance="Rear"),
        "Controller": comp(
            "Controller",
            var("Problem", "boolean", "ReadOnly", "true"),
            var("TechInfo", "string", "ReadOnly", "fan stuck"),
            var("Enabled", "boolean", "ReadOnly", "true"),
        ),
    }
    specs.update(overrides)
    return [s for s in specs.values() if s is not None]


@pytest.fixture
def specs() -> list[ComponentSpec]:
    # Files for the station components, generated EVSE/Connector for 2 EVSEs.
    generated = [s for s in _generated(connectors=[1, 2])]
    return station_specs() + generated


def _generated(connectors):
    # Reuse the loader's generator through an empty custom folder.
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "custom").mkdir()
        return load_component_config(folder, connectors)


@pytest.fixture
def store() -> DeviceModelStore:
    return DeviceModelStore(make_engine())


@pytest.fixture
def dm(store, specs) -> DeviceModel:
    return DeviceModel.from_specs(store, specs)


def C(name, instance=None, evse=None, connector=None):
    return ComponentType(name=name, instance=instance,
                         evse=None if evse is None else EVSEType(id=evse, connector_id=connector))


def V(name, instance=None):
    return VariableType(name=name, instance=instance)


def report(dm, base=None, component_criteria=None, component_variables=None):
    """dm.report_data in wire form; component_variables as {"component": C(), "variable": V()}."""
    selectors = None if component_variables is None else [
        ComponentVariableType(**selector) for selector in component_variables]
    return [to_wire(item) for item in dm.report_data(base, component_criteria, selectors)]


# --------------------------------------------------------------------------
# Migrations / store
# --------------------------------------------------------------------------


class TestMigrations:
    """migrations/device_model: libocpp's device-model tables and enum rows."""

    def test_tables_and_version(self):
        engine = make_engine()
        with engine.connect() as conn:
            tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
            assert {"COMPONENT", "VARIABLE", "VARIABLE_CHARACTERISTICS", "VARIABLE_ATTRIBUTE", "DATATYPE",
                    "MUTABILITY", "VARIABLE_ATTRIBUTE_TYPE", "VARIABLE_MONITORING", "MONITOR",
                    "MONITOR_CONFIG_TYPE", "SEVERITY"} <= tables
            assert conn.exec_driver_sql("PRAGMA user_version").scalar() == 3
            def columns(table):
                return [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
            # Column layout of libocpp's device-model database at version 3.
            assert columns("COMPONENT") == ["ID", "NAME", "INSTANCE", "EVSE_ID", "CONNECTOR_ID"]
            assert columns("VARIABLE") == ["ID", "NAME", "INSTANCE", "COMPONENT_ID", "SOURCE"]
            assert columns("VARIABLE_ATTRIBUTE") == ["ID", "VARIABLE_ID", "MUTABILITY_ID", "PERSISTENT",
                                                     "CONSTANT", "TYPE_ID", "VALUE_SOURCE", "VALUE"]
            assert columns("VARIABLE_CHARACTERISTICS") == ["ID", "DATATYPE_ID", "VARIABLE_ID", "MAX_LIMIT",
                                                           "MIN_LIMIT", "SUPPORTS_MONITORING", "UNIT",
                                                           "VALUES_LIST"]
            assert columns("VARIABLE_MONITORING") == ["ID", "VARIABLE_ID", "SEVERITY", "TRANSACTION", "TYPE_ID",
                                                      "CONFIG_TYPE_ID", "VALUE", "REFERENCE_VALUE"]
            assert conn.exec_driver_sql("SELECT MUTABILITY FROM MUTABILITY ORDER BY ID").scalars().all() == [
                "ReadOnly", "WriteOnly", "ReadWrite"]
            assert conn.exec_driver_sql("SELECT DATATYPE FROM DATATYPE ORDER BY ID").scalars().all() == [
                "string", "decimal", "integer", "dateTime", "boolean", "OptionList", "SequenceList", "MemberList"]
            assert conn.exec_driver_sql('SELECT "TYPE" FROM VARIABLE_ATTRIBUTE_TYPE ORDER BY ID').scalars().all() == [
                "Actual", "Target", "MinSet", "MaxSet"]
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM SEVERITY").scalar() == 10
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM MONITOR").scalar() == 5

    def test_files_are_numbered_like_libocpp(self):
        names = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
        assert names == ["1_down-initial.sql", "1_up-initial.sql", "2_down-variable_source.sql",
                         "2_up-variable_source.sql", "3_down-variable_required.sql", "3_up-variable_required.sql"]

    def test_down_migrations_undo_the_up_migrations(self):
        db = sqlite3.connect(":memory:")
        ups = sorted(MIGRATIONS.glob("*_up-*.sql"))
        downs = sorted(MIGRATIONS.glob("*_down-*.sql"), reverse=True)
        for up in ups:
            db.executescript(up.read_text())
        for down in downs:
            db.executescript(down.read_text())
        assert db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'sqlite_sequence'"
                          ).fetchall() == []


class TestSeeding:
    """Config seeds defaults; what the CSMS/station set survives restarts and reloads."""

    def test_seed_writes_components_variables_attributes(self, store, specs):
        store.seed(specs)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM COMPONENT").scalar() == len(specs)
            row = conn.exec_driver_sql(
                "SELECT a.VALUE, a.VALUE_SOURCE, a.MUTABILITY_ID, a.TYPE_ID, a.PERSISTENT, a.CONSTANT "
                "FROM VARIABLE v JOIN VARIABLE_ATTRIBUTE a ON a.VARIABLE_ID = v.ID "
                "WHERE v.NAME = 'HeartbeatInterval'").one()
            assert tuple(row) == ("300", "default", 2, 0, 1, 0)
            chars = conn.exec_driver_sql(
                "SELECT c.DATATYPE_ID, c.MIN_LIMIT, c.MAX_LIMIT, c.UNIT, c.SUPPORTS_MONITORING "
                "FROM VARIABLE v JOIN VARIABLE_CHARACTERISTICS c ON c.VARIABLE_ID = v.ID "
                "WHERE v.NAME = 'HeartbeatInterval'").one()
            assert tuple(chars) == (2, 1.0, 86400.0, "s", 1)

    def test_reseeding_the_same_config_changes_nothing(self, store, specs):
        store.seed(specs)
        before = store.load()
        store.seed(specs)
        assert store.load() == before

    def test_csms_value_is_kept_when_the_config_default_changes(self, store, specs):
        dm = DeviceModel.from_specs(store, specs)
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), None, "60") == "Accepted"
        changed = comp("OCPPCommCtrlr", var("HeartbeatInterval", "integer", default="900", minLimit=1))
        dm = DeviceModel.from_specs(store, station_specs(OCPPCommCtrlr=changed))
        assert dm.get("OCPPCommCtrlr", "HeartbeatInterval") == "60"

    def test_default_value_follows_the_config(self, store, specs):
        DeviceModel.from_specs(store, specs)
        changed = comp("OCPPCommCtrlr", var("HeartbeatInterval", "integer", default="900", minLimit=1))
        dm = DeviceModel.from_specs(store, station_specs(OCPPCommCtrlr=changed))
        assert dm.get("OCPPCommCtrlr", "HeartbeatInterval") == "900"

    def test_internal_value_is_kept(self, store, specs):
        dm = DeviceModel.from_specs(store, specs)
        dm.set_internal("EVSE", "AvailabilityState", "Faulted", evse_id=1)
        dm = DeviceModel.from_specs(store, specs)
        assert dm.get("EVSE", "AvailabilityState", evse_id=1) == "Faulted"

    def test_removed_components_and_variables_are_deleted_and_new_ones_added(self, store, specs):
        DeviceModel.from_specs(store, specs)
        security = comp("SecurityCtrlr", var("Identity", "string", value="CS-1"),
                        var("SecurityProfile", "integer", "ReadOnly", "1"))
        dm = DeviceModel.from_specs(store, station_specs(Fan=None, SecurityCtrlr=security))
        assert dm.get_variable(C("Fan", evse=1), V("FanSpeed"))[0] == "UnknownComponent"
        assert dm.get_variable(C("SecurityCtrlr"), V("OrganizationName"))[0] == "UnknownVariable"
        assert dm.get_variable(C("SecurityCtrlr"), V("SecurityProfile")) == ("Accepted", "1")
        with store.engine.connect() as conn:
            orphans = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM VARIABLE_ATTRIBUTE WHERE VARIABLE_ID NOT IN (SELECT ID FROM VARIABLE)").scalar()
            assert orphans == 0

    def test_mutability_characteristics_and_attributes_are_updated(self, store, specs):
        DeviceModel.from_specs(store, specs)
        comm = comp("OCPPCommCtrlr",
                    var("HeartbeatInterval", "integer", "ReadOnly", default="300", unit="s", minLimit=10,
                        extra=(AttributeSpec("MaxSet", "ReadOnly", "600"),)))
        dm = DeviceModel.from_specs(store, station_specs(OCPPCommCtrlr=comm))
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), None, "60") == "Rejected"
        (item,) = report(dm, component_variables=[{"component": C("OCPPCommCtrlr"),
                                                       "variable": V("HeartbeatInterval")}])
        assert item["variableCharacteristics"] == {"dataType": "integer", "supportsMonitoring": True,
                                                   "unit": "s", "minLimit": 10}
        assert [a["type"] for a in item["variableAttribute"]] == ["Actual", "MaxSet"]

    def test_config_monitors_are_stored_and_replaced(self, store, specs):
        monitored = comp("Fan", var("FanSpeed", "decimal", "ReadOnly", "300", monitors=[
            MonitorSpec("UpperThreshold", 4, 800.0), MonitorSpec("Delta", 6, 10.0)]), evse_id=1)
        DeviceModel.from_specs(store, station_specs(Fan=monitored))
        (fan,) = [c for c in store.load() if c.name == "Fan"]
        monitors = sorted((m.type, m.severity, m.value, m.reference_value) for m in fan.variables[0].monitors)
        assert monitors == [("Delta", 6, 10.0, "300"), ("UpperThreshold", 4, 800.0, None)]
        fewer = comp("Fan", var("FanSpeed", "decimal", "ReadOnly", "300",
                                monitors=[MonitorSpec("UpperThreshold", 4, 900.0)]), evse_id=1)
        DeviceModel.from_specs(store, station_specs(Fan=fewer))
        (fan,) = [c for c in store.load() if c.name == "Fan"]
        assert [(m.type, m.value) for m in fan.variables[0].monitors] == [("UpperThreshold", 900.0)]

    def test_csms_value_survives_a_restart_with_a_file_database(self, tmp_path, specs):
        path = str(tmp_path / "dm" / "device_model.db")
        dm = DeviceModel.from_specs(DeviceModelStore(make_engine(path)), specs)
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), "Actual", "42") == "Accepted"
        dm.store.engine.dispose()
        again = DeviceModel.from_specs(DeviceModelStore(make_engine(path)), specs)
        assert again.get_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval")) == ("Accepted", "42")
        again.store.engine.dispose()

    def test_null_fields_written_by_libocpp_read_as_spec_defaults(self, store, specs):
        store.seed(specs)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE VARIABLE_ATTRIBUTE SET MUTABILITY_ID = NULL WHERE VARIABLE_ID IN "
                                 "(SELECT ID FROM VARIABLE WHERE NAME = 'OrganizationName')")
        dm = DeviceModel(store)
        # VariableAttributeType.mutability: ReadWrite when omitted.
        assert dm.set_variable(C("SecurityCtrlr"), V("OrganizationName"), None, "ACME") == "Accepted"


class TestOpen:
    """DeviceModel.open: component config + storage.database.open_database + seed."""

    def test_open_uses_storage_database(self, tmp_path, monkeypatch):
        (tmp_path / "custom").mkdir()
        calls = []

        def fake_open_database(path, migrations_dir):
            calls.append((path, migrations_dir))
            return _fallback_engine(":memory:")

        fake = types.ModuleType("storage.database")
        fake.open_database = fake_open_database
        monkeypatch.setitem(sys.modules, "storage.database", fake)
        dm = DeviceModel.open("x.db", MIGRATIONS, tmp_path, [1])
        assert calls == [("x.db", MIGRATIONS)]
        assert dm.get("Connector", "ConnectorType", evse_id=1, connector_id=1) == "sType2"

    @pytest.mark.skipif(open_database is None, reason="storage.database not written yet")
    def test_open_with_real_storage(self, tmp_path):
        (tmp_path / "custom").mkdir()
        dm = DeviceModel.open(tmp_path / "db" / "dm.db", MIGRATIONS, tmp_path, [1, 1])
        assert dm.get_bool("EVSE", "Available", evse_id=2) is True
        dm.store.engine.dispose()

    @pytest.mark.skipif(not EVEREST_CONFIG.is_dir() or open_database is None,
                        reason="EVerest reference config or storage.database not present")
    def test_open_with_the_everest_config(self):
        dm = DeviceModel.open(":memory:", MIGRATIONS, EVEREST_CONFIG, [1, 1])
        assert dm.get_variable(C("OCPPCommCtrlr"), V("MessageTimeout", "Default")) == ("Accepted", "60")
        assert dm.get_variable(C("SecurityCtrlr"), V("BasicAuthPassword"))[0] == "Rejected"
        assert report(dm, "FullInventory")


# --------------------------------------------------------------------------
# B06 GetVariables
# --------------------------------------------------------------------------


class TestGetVariable:
    """B06 - Get Variables."""

    def test_accepted_with_value(self, dm):
        assert dm.get_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval")) == ("Accepted", "300")  # B06.FR.10

    def test_missing_attribute_type_means_actual(self, dm):
        assert dm.get_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), None) == ("Accepted", "300")  # B06.FR.11

    def test_unknown_component(self, dm):
        assert dm.get_variable(C("NoSuchCtrlr"), V("HeartbeatInterval")) == ("UnknownComponent", None)  # B06.FR.06

    def test_unknown_variable(self, dm):
        assert dm.get_variable(C("OCPPCommCtrlr"), V("NoSuch")) == ("UnknownVariable", None)  # B06.FR.07

    def test_attribute_type_not_supported(self, dm):
        assert dm.get_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), "Target") == (
            "NotSupportedAttributeType", None)  # B06.FR.08

    def test_write_only_is_rejected(self, dm):
        assert dm.get_variable(C("SecurityCtrlr"), V("BasicAuthPassword")) == ("Rejected", None)  # B06.FR.09

    def test_unset_value_is_empty_string(self, dm):
        assert dm.get_variable(C("SecurityCtrlr"), V("OrganizationName")) == ("Accepted", "")  # B06.FR.13
        assert dm.get_variable(C("Fan", evse=1), V("FanSpeed"), "Target") == ("Accepted", "")

    def test_other_attribute_types(self, dm):
        assert dm.get_variable(C("Fan", evse=1), V("FanSpeed"), "MaxSet") == ("Accepted", "500")

    def test_variable_instance_is_matched_exactly(self, dm):
        # B06.FR.14 / B06.FR.15
        assert dm.get_variable(C("OCPPCommCtrlr"), V("MessageTimeout", "Default")) == ("Accepted", "30")
        assert dm.get_variable(C("OCPPCommCtrlr"), V("MessageTimeout"))[0] == "UnknownVariable"
        assert dm.get_variable(C("OCPPCommCtrlr"), V("MessageTimeout", ""))[0] == "UnknownVariable"
        assert dm.get_variable(C("OCPPCommCtrlr"), V("MessageTimeout", "Other"))[0] == "UnknownVariable"

    def test_component_instance_is_matched_exactly(self, dm):
        assert dm.get_variable(C("TokenReader", "Front"), V("Enabled")) == ("Accepted", "true")  # B06.FR.14
        assert dm.get_variable(C("TokenReader"), V("Enabled"))[0] == "UnknownComponent"  # B06.FR.15
        assert dm.get_variable(C("TokenReader", ""), V("Enabled"))[0] == "UnknownComponent"

    def test_evse_and_connector_addressing(self, dm):
        assert dm.get_variable(C("EVSE", evse=2), V("AvailabilityState")) == ("Accepted", "Available")
        assert dm.get_variable(C("EVSE"), V("AvailabilityState"))[0] == "UnknownComponent"
        assert dm.get_variable(C("EVSE", evse=3), V("AvailabilityState"))[0] == "UnknownComponent"
        assert dm.get_variable(C("Connector", evse=2, connector=2), V("ConnectorType")) == ("Accepted", "sType2")
        # evse without connectorId addresses the component without connector.
        assert dm.get_variable(C("Connector", evse=2), V("ConnectorType"))[0] == "UnknownComponent"
        # A component without evse is not found through an evse.
        assert dm.get_variable(C("OCPPCommCtrlr", evse=1), V("HeartbeatInterval"))[0] == "UnknownComponent"

    def test_names_are_case_insensitive(self, dm):
        assert dm.get_variable(C("ocppcommctrlr"), V("heartbeatinterval")) == ("Accepted", "300")
        assert dm.get_variable(C("tokenreader", "FRONT"), V("enabled")) == ("Accepted", "true")

    def test_reporting_value_size_truncates(self, store):
        ddc = comp("DeviceDataCtrlr", var("ReportingValueSize", "integer", "ReadOnly", "5"))
        dm = DeviceModel.from_specs(store, station_specs(DeviceDataCtrlr=ddc))
        assert dm.get_variable(C("SecurityCtrlr"), V("Identity")) == ("Accepted", "CS-1")
        dm.set_variable(C("SecurityCtrlr"), V("Identity"), None, "ABCDEFGH")
        assert dm.get_variable(C("SecurityCtrlr"), V("Identity")) == ("Accepted", "ABCDE")


# --------------------------------------------------------------------------
# B05 SetVariables
# --------------------------------------------------------------------------


class TestSetVariable:
    """B05 - Set Variables."""

    def test_accepted_and_persisted_before_the_cache(self, dm, store):
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), "Actual", "60") == "Accepted"  # B05.FR.10
        assert dm.get_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval")) == ("Accepted", "60")
        assert DeviceModel(store).get("OCPPCommCtrlr", "HeartbeatInterval") == "60"
        with store.engine.connect() as conn:
            source = conn.exec_driver_sql(
                "SELECT a.VALUE_SOURCE FROM VARIABLE v JOIN VARIABLE_ATTRIBUTE a ON a.VARIABLE_ID = v.ID "
                "WHERE v.NAME = 'HeartbeatInterval'").scalar()
        assert source == "csms"

    def test_missing_attribute_type_means_actual(self, dm):
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), None, "61") == "Accepted"  # B05.FR.12
        assert dm.get("OCPPCommCtrlr", "HeartbeatInterval") == "61"

    def test_unknown_component_and_variable(self, dm):
        assert dm.set_variable(C("Nope"), V("HeartbeatInterval"), None, "1") == "UnknownComponent"  # B05.FR.04
        assert dm.set_variable(C("OCPPCommCtrlr"), V("Nope"), None, "1") == "UnknownVariable"  # B05.FR.05
        assert dm.set_variable(C("OCPPCommCtrlr"), V("MessageTimeout"), None, "1") == "UnknownVariable"

    def test_attribute_type_not_supported(self, dm):
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), "MinSet", "1") == \
            "NotSupportedAttributeType"  # B05.FR.06

    def test_read_only_is_rejected(self, dm):
        status, reason = dm.set_variable_with_reason(C("OCPPCommCtrlr"), V("MessageTimeout", "Default"), None, "40")
        assert (status, reason) == ("Rejected", "read-only")  # B05.FR.09 (TC_B_39_CS)
        assert dm.get("OCPPCommCtrlr", "MessageTimeout", instance="Default") == "30"

    @pytest.mark.parametrize("component, variable, value", [
        (C("OCPPCommCtrlr"), V("HeartbeatInterval"), "sixty"),            # integer format
        (C("OCPPCommCtrlr"), V("HeartbeatInterval"), "60.5"),
        (C("OCPPCommCtrlr"), V("HeartbeatInterval"), "0"),                # below minLimit
        (C("OCPPCommCtrlr"), V("HeartbeatInterval"), "86401"),            # above maxLimit
        (C("OCPPCommCtrlr"), V("Enabled"), "TRUE"),                       # boolean
        (C("OCPPCommCtrlr"), V("NetworkConfigurationPriority"), "1,4"),   # SequenceList member
        (C("AlignedDataCtrlr"), V("Measurands"), "Current.Import"),       # MemberList member
        (C("ClockCtrlr"), V("NextTimeOffsetTransitionDateTime"), "tomorrow"),
        (C("SecurityCtrlr"), V("Identity"), "x" * 49),                    # string maxLimit
        (C("SecurityCtrlr"), V("BasicAuthPassword"), "short"),            # string minLimit
        (C("Fan", evse=1), V("FanSpeed"), "1001"),                        # Target above maxLimit
    ])
    def test_badly_formatted_or_out_of_range_values_are_rejected(self, dm, component, variable, value):
        attribute_type = "Target" if component.name == "Fan" else None
        assert dm.set_variable(component, variable, attribute_type, value) == "Rejected"  # B05.FR.07, B05.FR.08

    @pytest.mark.parametrize("component, variable, value", [
        (C("OCPPCommCtrlr"), V("NetworkConfigurationPriority"), "2,1,3"),
        (C("AlignedDataCtrlr"), V("Measurands"), "Voltage,Power.Active.Import"),
        (C("AlignedDataCtrlr"), V("Measurands"), ""),
        (C("ClockCtrlr"), V("NextTimeOffsetTransitionDateTime"), "2025-03-30T01:00:00Z"),
        (C("OCPPCommCtrlr"), V("Enabled"), "false"),
        (C("SecurityCtrlr"), V("OrganizationName"), ""),
    ])
    def test_valid_values_are_accepted(self, dm, component, variable, value):
        assert dm.set_variable(component, variable, None, value) == "Accepted"
        assert dm.get(component.name, variable.name) == value

    def test_zero_means_off_for_interval_variables(self, dm):
        assert dm.set_variable(C("AlignedDataCtrlr"), V("Interval"), None, "0") == "Accepted"
        assert dm.set_variable(C("AlignedDataCtrlr"), V("Interval"), None, "3") == "Rejected"

    def test_target_must_lie_within_min_set_and_max_set(self, dm):
        # Part 1, 4.3 fan example: MinSet 200, MaxSet 500, limits 0..1000.
        fan, speed = C("Fan", evse=1), V("FanSpeed")
        assert dm.set_variable(fan, speed, "Target", "600") == "Rejected"
        assert dm.set_variable(fan, speed, "Target", "150") == "Rejected"
        assert dm.set_variable(fan, speed, "Target", "500") == "Accepted"
        assert dm.set_variable(fan, speed, "MaxSet", "700") == "Accepted"
        assert dm.set_variable(fan, speed, "Target", "600") == "Accepted"

    def test_value_longer_than_1000_characters_is_rejected(self, store):
        security = comp("SecurityCtrlr", var("Identity", "string", value="CS-1"))
        dm = DeviceModel.from_specs(store, station_specs(SecurityCtrlr=security))
        assert dm.set_variable(C("SecurityCtrlr"), V("Identity"), None, "x" * 1000) == "Accepted"
        assert dm.set_variable(C("SecurityCtrlr"), V("Identity"), None, "x" * 1001) == "Rejected"

    def test_configuration_value_size_limits_the_value(self, store):
        ddc = comp("DeviceDataCtrlr", var("ConfigurationValueSize", "integer", "ReadOnly", "4"))
        dm = DeviceModel.from_specs(store, station_specs(DeviceDataCtrlr=ddc))
        assert dm.set_variable(C("SecurityCtrlr"), V("Identity"), None, "ABCD") == "Accepted"
        assert dm.set_variable(C("SecurityCtrlr"), V("Identity"), None, "ABCDE") == "Rejected"

    def test_write_only_can_be_set_but_not_read(self, dm):
        assert dm.set_variable(C("SecurityCtrlr"), V("BasicAuthPassword"), None, "abcdefghijklmnopq") == "Accepted"
        assert dm.get_variable(C("SecurityCtrlr"), V("BasicAuthPassword")) == ("Rejected", None)
        assert dm.get("SecurityCtrlr", "BasicAuthPassword") == "abcdefghijklmnopq"

    def test_non_string_value_is_rejected(self, dm):
        assert dm.set_variable(C("OCPPCommCtrlr"), V("HeartbeatInterval"), None, 60) == "Rejected"

    def test_a_component_that_is_not_available_cannot_be_enabled(self, store):
        # Part 2 "Available": the component exists and is configured for use, "but may not be
        # (remotely) Enabled"; one the station lacks (Available false) stays disabled, else the
        # report would claim it (issue #9). Per instance, as TariffCostCtrlr has Tariff/Cost.
        tariff = comp("TariffCostCtrlr",
                      var("Available", "boolean", "ReadOnly", "false", instance="Tariff"),
                      var("Enabled", "boolean", value="false", instance="Tariff"),
                      var("Available", "boolean", "ReadOnly", "true", instance="Cost"),
                      var("Enabled", "boolean", value="false", instance="Cost"))
        dm = DeviceModel.from_specs(store, station_specs(TariffCostCtrlr=tariff))
        tariff_cost = C("TariffCostCtrlr")
        assert dm.set_variable_with_reason(tariff_cost, V("Enabled", "Tariff"), None, "true") == (
            "Rejected", "the component is not available on this station")
        assert dm.get("TariffCostCtrlr", "Enabled", instance="Tariff") == "false"
        assert dm.set_variable(tariff_cost, V("Enabled", "Tariff"), None, "false") == "Accepted"
        assert dm.set_variable(tariff_cost, V("Enabled", "Cost"), None, "true") == "Accepted"
        # Without an Available variable nothing is known against enabling it.
        assert dm.set_variable(C("OCPPCommCtrlr"), V("Enabled"), None, "true") == "Accepted"


# --------------------------------------------------------------------------
# Station reads and writes
# --------------------------------------------------------------------------


class TestInternalAccess:
    """get/get_int/get_bool/get_float/set_internal: the station's own access."""

    def test_typed_getters(self, dm):
        assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
        assert dm.get_int("OCPPCommCtrlr", "MessageTimeout", instance="Default") == 30
        assert dm.get_int("OCPPCommCtrlr", "Nope", default=7) == 7
        assert dm.get_int("SecurityCtrlr", "Identity", default=-1) == -1
        assert dm.get_bool("OCPPCommCtrlr", "Enabled") is True
        assert dm.get_bool("AlignedDataCtrlr", "Enabled") is False
        assert dm.get_bool("SecurityCtrlr", "OrganizationName", default=True) is True
        assert dm.get_float("Fan", "FanSpeed", evse_id=1) == 300.0
        assert dm.get_float("Fan", "FanSpeed", evse_id=1, attribute_type="MinSet") == 200.0
        assert dm.get("TokenReader", "Enabled", component_instance="Rear") == "true"
        assert dm.get("OCPPCommCtrlr", "Nope") is None

    def test_set_internal_bypasses_mutability_and_persists(self, dm, store):
        assert dm.set_internal("EVSE", "AvailabilityState", "Occupied", evse_id=1) is True
        assert dm.get_variable(C("EVSE", evse=1), V("AvailabilityState")) == ("Accepted", "Occupied")
        assert DeviceModel(store).get("EVSE", "AvailabilityState", evse_id=1) == "Occupied"

    def test_set_internal_normalises_values(self, dm):
        dm.set_internal("Fan", "Active", True, evse_id=1)
        dm.set_internal("Fan", "FanSpeed", 321.5, evse_id=1)
        assert dm.get("Fan", "Active", evse_id=1) == "true"
        assert dm.get("Fan", "FanSpeed", evse_id=1) == "321.5"

    def test_set_internal_on_unknown_variable_returns_false(self, dm):
        assert dm.set_internal("EVSE", "AvailabilityState", "Occupied", evse_id=9) is False
        assert dm.set_internal("EVSE", "Nope", "x", evse_id=1) is False
        assert not dm.has_variable("EVSE", "Nope", evse_id=1)
        assert dm.has_variable("EVSE", "Power", evse_id=1, attribute_type="MaxSet")

    def test_set_internal_does_not_write_an_unchanged_value(self, dm, store):
        def failing_set_value(*_args):
            raise AssertionError("no write expected")

        store.set_value = failing_set_value
        assert dm.set_internal("EVSE", "AvailabilityState", "Available", evse_id=1) is True


# --------------------------------------------------------------------------
# B07 GetBaseReport / B08 GetReport
# --------------------------------------------------------------------------

NOTIFY_REPORT_SCHEMA = json.loads(
    (Path(ocpp.v201.__file__).parent / "schemas" / "NotifyReportRequest.json").read_text())


def assert_valid_report(items):
    jsonschema.validate({"requestId": 1, "generatedAt": "2024-01-01T00:00:00Z", "seqNo": 0, "tbc": False,
                         "reportData": items}, NOTIFY_REPORT_SCHEMA)


def keys(items):
    def key(item):
        component = item["component"]
        evse = component.get("evse", {})
        return (component["name"], component.get("instance"), evse.get("id"), evse.get("connectorId"),
                item["variable"]["name"], item["variable"].get("instance"))
    return [key(item) for item in items]


class TestBaseReports:
    """B07 - Get Base Report."""

    def test_full_inventory_reports_every_variable_with_characteristics(self, dm, specs):
        items = report(dm, "FullInventory")
        assert_valid_report(items)
        assert len(items) == sum(len(s.variables) for s in specs)  # B07.FR.08
        assert all("variableCharacteristics" in item for item in items)
        (fan,) = [i for i in items if i["variable"]["name"] == "FanSpeed"]
        # B07.FR.11: every attribute type, also when unset.
        assert [a["type"] for a in fan["variableAttribute"]] == ["Actual", "Target", "MinSet", "MaxSet"]
        assert fan["variableAttribute"][1] == {"type": "Target", "value": "", "mutability": "ReadWrite",
                                               "persistent": True, "constant": False}
        assert fan["variableCharacteristics"] == {"dataType": "decimal", "supportsMonitoring": True,
                                                  "minLimit": 0, "maxLimit": 1000, "unit": "rpm"}
        assert fan["component"] == {"name": "Fan", "evse": {"id": 1}}

    def test_write_only_values_are_never_reported(self, dm):
        for base in ("FullInventory", "ConfigurationInventory"):
            (item,) = [i for i in report(dm, base) if i["variable"]["name"] == "BasicAuthPassword"]
            assert item["variableAttribute"] == [{"type": "Actual", "mutability": "WriteOnly",
                                                  "persistent": True, "constant": False}]  # B07.FR.03 errata

    def test_configuration_inventory_only_has_what_the_operator_can_set(self, dm):
        items = report(dm, "ConfigurationInventory")
        assert_valid_report(items)
        names = {(i["component"]["name"], i["variable"]["name"]) for i in items}
        assert ("OCPPCommCtrlr", "HeartbeatInterval") in names
        assert ("OCPPCommCtrlr", "MessageTimeout") not in names
        assert ("ChargingStation", "AvailabilityState") not in names
        # B07.FR.07 / TC_B_12_CS: mutability ReadWrite or WriteOnly, with characteristics.
        assert all(a["mutability"] in ("ReadWrite", "WriteOnly") for i in items for a in i["variableAttribute"])
        (fan,) = [i for i in items if i["variable"]["name"] == "FanSpeed"]
        assert [a["type"] for a in fan["variableAttribute"]] == ["Target", "MinSet", "MaxSet"]

    def test_summary_inventory(self, dm):
        # B07.FR.09: availability of station/EVSEs/connectors (when different) and problems.
        dm.set_internal("Connector", "AvailabilityState", "Faulted", evse_id=2, connector_id=2)
        items = report(dm, "SummaryInventory")
        assert_valid_report(items)
        assert sorted(keys(items)) == sorted([
            ("ChargingStation", None, None, None, "AvailabilityState", None),
            ("EVSE", None, 1, None, "AvailabilityState", None),
            ("EVSE", None, 2, None, "AvailabilityState", None),
            ("Connector", None, 2, 2, "AvailabilityState", None),
            ("Controller", None, None, None, "Problem", None),
            ("Controller", None, None, None, "TechInfo", None),
        ])
        assert all("variableCharacteristics" in i for i in items)  # TC_B_14_CS

    def test_unknown_base_is_refused(self, dm):
        with pytest.raises(ValueError):
            report(dm, "EverythingInventory")


class TestCustomReports:
    """B08 - Get Custom Report."""

    def test_enabled_criterion(self, dm):
        items = report(dm, component_criteria=["Enabled"])
        assert_valid_report(items)
        components = {(i["component"]["name"], i["component"].get("instance")) for i in items}
        # B08.FR.09: Enabled true, or no Enabled variable; AlignedDataCtrlr has Enabled=false.
        assert ("AlignedDataCtrlr", None) not in components
        assert {("OCPPCommCtrlr", None), ("TokenReader", "Front"), ("Controller", None),
                ("SecurityCtrlr", None)} <= components
        # A matching component is reported with all its variables (B08.FR.12 characteristics).
        assert sum(1 for i in items if i["component"]["name"] == "OCPPCommCtrlr") == 5
        assert all("variableCharacteristics" in i for i in items)

    def test_enabled_criterion_counts_variables_with_an_instance(self, store):
        # TariffCostCtrlr has Enabled only per instance (Tariff, Cost): with both false it does
        # not have "Enabled = 1" and must not be reported as if it lacked the variable
        # (B08.FR.07-09, TC_B_16_CS); one instance true is enough.
        def tariff(cost: str):
            return comp("TariffCostCtrlr",
                        var("Enabled", "boolean", value="false", instance="Tariff"),
                        var("Enabled", "boolean", value=cost, instance="Cost"))

        dm = DeviceModel.from_specs(store, station_specs(TariffCostCtrlr=tariff("false")))
        names = {i["component"]["name"] for i in report(dm, component_criteria=["Enabled"])}
        assert "TariffCostCtrlr" not in names and "OCPPCommCtrlr" in names
        dm = DeviceModel.from_specs(store, station_specs(TariffCostCtrlr=tariff("true")))
        names = {i["component"]["name"] for i in report(dm, component_criteria=["Enabled"])}
        assert "TariffCostCtrlr" in names

    def test_active_criterion(self, dm):
        components = {i["component"]["name"] for i in report(dm, component_criteria=["Active"])}
        assert "Fan" not in components and "OCPPCommCtrlr" in components  # B08.FR.07

    def test_problem_criterion_needs_problem_true(self, dm):
        components = {i["component"]["name"] for i in report(dm, component_criteria=["Problem"])}
        assert components == {"Controller"}  # B08.FR.10

    def test_criteria_are_or_ed(self, dm):
        components = {i["component"]["name"] for i in report(dm, component_criteria=["Problem", "Active"])}
        assert "Controller" in components and "Fan" not in components and "EVSE" in components  # B08.FR.13

    def test_component_with_variable(self, dm):
        # TC_B_17_CS
        items = report(dm, component_variables=[{"component": C("EVSE", evse=1),
                                                     "variable": V("AvailabilityState")}])
        assert keys(items) == [("EVSE", None, 1, None, "AvailabilityState", None)]
        assert items[0]["variableAttribute"] == [{"type": "Actual", "value": "Available", "mutability": "ReadOnly",
                                                  "persistent": True, "constant": False}]
        assert items[0]["variableCharacteristics"]["valuesList"] == STATES

    def test_criteria_and_component_variables_together(self, dm):
        # TC_B_18_CS: Available -> reported; Problem -> empty result (EmptyResultSet).
        selector = [{"component": C("EVSE", evse=1), "variable": V("AvailabilityState")}]
        assert len(report(dm, component_criteria=["Available"], component_variables=selector)) == 1
        assert report(dm, component_criteria=["Problem"], component_variables=selector) == []  # B08.FR.15

    def test_component_without_variable_reports_all_its_variables(self, dm):
        items = report(dm, component_variables=[{"component": C("SecurityCtrlr")}])
        assert [k[4] for k in keys(items)] == ["BasicAuthPassword", "Identity", "OrganizationName"]  # B08.FR.20

    def test_variable_without_instance_reports_every_instance(self, dm):
        # B08.FR.21 / TC_B_54_CS
        items = report(dm, component_variables=[{"component": C("DeviceDataCtrlr"),
                                                     "variable": V("ItemsPerMessage")}])
        assert [k[5] for k in keys(items)] == ["GetReport", "GetVariables"]
        items = report(dm, component_variables=[{"component": C("DeviceDataCtrlr"),
                                                     "variable": V("ItemsPerMessage", "GetReport")}])
        assert [k[5] for k in keys(items)] == ["GetReport"]  # TC_B_55_CS

    def test_evse_without_connector_reports_every_connector(self, dm):
        items = report(dm, component_variables=[{"component": C("Connector", evse=2),
                                                     "variable": V("ConnectorType")}])
        assert [(k[2], k[3]) for k in keys(items)] == [(2, 1), (2, 2)]  # B08.FR.22

    def test_no_evse_reports_every_tier(self, dm):
        items = report(dm, component_variables=[{"component": C("Connector"), "variable": V("Available")}])
        assert [(k[2], k[3]) for k in keys(items)] == [(1, 1), (2, 1), (2, 2)]  # B08.FR.23
        items = report(dm, component_variables=[{"component": C("ChargingStation"),
                                                     "variable": V("Available")}])
        assert keys(items) == [("ChargingStation", None, None, None, "Available", None)]

    def test_component_instance(self, dm):
        items = report(dm, component_variables=[{"component": C("TokenReader", "Rear")}])
        assert [k[1] for k in keys(items)] == ["Rear"]  # B08.FR.24
        items = report(dm, component_variables=[{"component": C("TokenReader")}])
        assert [k[1] for k in keys(items)] == ["Front", "Rear"]  # B08.FR.25

    def test_several_component_variables(self, dm):
        items = report(dm, component_variables=[
            {"component": C("OCPPCommCtrlr"), "variable": V("HeartbeatInterval")},
            {"component": C("ClockCtrlr"), "variable": V("TimeSource")},
        ])
        assert [k[4] for k in keys(items)] == ["TimeSource", "HeartbeatInterval"]

    def test_unknown_component_variable_gives_an_empty_result(self, dm):
        assert report(dm, component_variables=[{"component": C("Nope")}]) == []  # B08.FR.15

    def test_write_only_value_omitted(self, dm):
        (item,) = report(dm, component_variables=[{"component": C("SecurityCtrlr"),
                                                       "variable": V("BasicAuthPassword")}])
        assert "value" not in item["variableAttribute"][0]  # B08.FR.03 errata

    def test_no_filter_reports_everything(self, dm):
        assert len(report(dm)) == len(report(dm, "FullInventory"))

    def test_unknown_criterion_is_refused(self, dm):
        with pytest.raises(ValueError):
            report(dm, component_criteria=["Broken"])  # B08.FR.02: caller answers NotSupported

    @pytest.mark.skipif(not EVEREST_CONFIG.is_dir(), reason="EVerest reference config not present")
    def test_everest_reports_are_schema_valid(self, store):
        dm = DeviceModel.from_specs(store, load_component_config(EVEREST_CONFIG, [1, 1]))
        for base in ("FullInventory", "ConfigurationInventory", "SummaryInventory"):
            assert_valid_report(report(dm, base))
        assert_valid_report(report(dm, component_criteria=["Enabled", "Available"]))


@pytest.mark.skipif(open_database is None, reason="storage.database not written yet")
def test_a_station_with_signing_meters_reports_and_takes_the_signing_variables(tmp_path):
    """J01.FR.21/J02.FR.21 switches and the public-key policy exist only with signing meters
    (part 2 §2.7: "SHALL NOT report this variable" otherwise), ReadWrite and checked."""
    shipped = Path(__file__).resolve().parents[2] / "component_config"
    plain = DeviceModel.open(":memory:", MIGRATIONS, shipped, [1])
    assert plain.get_variable(C("SampledDataCtrlr"), V("SignReadings"))[0] == "UnknownVariable"
    dm = DeviceModel.open(":memory:", MIGRATIONS, shipped, [1], signing_meter=True)
    for component in ("SampledDataCtrlr", "AlignedDataCtrlr"):
        assert dm.get_variable(C(component), V("SignReadings")) == ("Accepted", "false")
        assert dm.set_variable(C(component), V("SignReadings"), None, "true") == "Accepted"
        assert dm.set_variable(C(component), V("SignReadings"), None, "yes") == "Rejected"
    policy = V("PublicKeyWithSignedMeterValue")
    assert dm.get_variable(C("OCPPCommCtrlr"), policy) == ("Accepted", "EveryMeterValue")
    assert dm.set_variable(C("OCPPCommCtrlr"), policy, None, "Never") == "Accepted"
    assert dm.set_variable(C("OCPPCommCtrlr"), policy, None, "Sometimes") == "Rejected"
    assert dm.set_variable(C("TxCtrlr"), V("TxStartPoint"), None, "DataSigned") == "Accepted"
    assert plain.set_variable(C("TxCtrlr"), V("TxStartPoint"), None, "DataSigned") == "Rejected"
