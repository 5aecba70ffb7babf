"""Tests for device_model.loader: libocpp component JSON -> ComponentSpec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device_model.loader import (
    AttributeSpec,
    ComponentConfigError,
    check_value,
    load_component_config,
)

EVEREST_CONFIG = Path("/work/shared/reference/everest-component-config")
needs_everest = pytest.mark.skipif(not EVEREST_CONFIG.is_dir(), reason="EVerest reference config not present")


def prop(name, data_type="string", *, mutability="ReadWrite", value=None, instance=None,
         default=None, attr_type="Actual", **chars):
    """One libocpp 'properties' entry."""
    attribute = {"type": attr_type, "mutability": mutability}
    if value is not None:
        attribute["value"] = value
    entry = {
        "variable_name": name,
        "characteristics": {"dataType": data_type, "supportsMonitoring": True, **chars},
        "attributes": [attribute],
        "description": "ignored",
        "type": "string",
    }
    if instance is not None:
        entry["instance"] = instance
    if default is not None:
        entry["default"] = default
    return entry


def component(name, properties, *, required=(), **top):
    return {"$schema": "http://json-schema.org/draft-07/schema#", "description": "x", "type": "object",
            "name": name, **top, "properties": properties, "required": list(required)}


def write(root: Path, folder: str, filename: str, content) -> Path:
    path = root / folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    write(tmp_path, "standardized", "OCPPCommCtrlr.json", component("OCPPCommCtrlr", {
        "HeartbeatInterval": prop("HeartbeatInterval", "integer", default="1800", unit="s", minLimit=1),
        "OCPPCommCtrlrEnabled": prop("Enabled", "boolean", value=True),
        "MessageTimeout": prop("MessageTimeout", "integer", mutability="ReadOnly", value=60, instance="Default"),
    }, required=["HeartbeatInterval"]))
    return tmp_path


class TestEverestReferenceConfig:
    """An unmodified EVerest component_config folder loads (ARCHITECTURE: device model)."""

    @needs_everest
    def test_loads_for_two_evses_with_one_connector_each(self):
        specs = load_component_config(EVEREST_CONFIG, [1, 1])
        keys = {spec.key for spec in specs}
        assert ("EVSE", None, 1, None) in keys and ("EVSE", None, 2, None) in keys
        assert ("Connector", None, 1, 1) in keys and ("Connector", None, 2, 1) in keys
        # Every EVSE/connector is described by a file: nothing generated.
        assert all(spec.source_file is not None for spec in specs)
        assert len(keys) == len(specs)

    @needs_everest
    def test_values_are_normalised_to_ocpp_strings(self):
        specs = {spec.name: spec for spec in load_component_config(EVEREST_CONFIG, [1, 1])
                 if spec.evse_id is None}
        comm = {(v.name, v.instance): v for v in specs["OCPPCommCtrlr"].variables}
        assert comm[("Enabled", None)].attributes[0].value == "true"
        assert comm[("MessageTimeout", "Default")].attributes[0].value == "60"
        assert comm[("HeartbeatInterval", None)].default == "1800"

    @needs_everest
    def test_more_evses_than_files_generates_the_rest(self):
        specs = load_component_config(EVEREST_CONFIG, [2, 1, 1])
        generated = {spec.key for spec in specs if spec.source_file is None}
        assert generated == {("Connector", None, 1, 2), ("EVSE", None, 3, None), ("Connector", None, 3, 1),
                             ("ConnectorPlugRetentionLock", None, 1, 2),
                             ("ConnectorPlugRetentionLock", None, 3, 1)}

    @needs_everest
    def test_fewer_evses_than_files_is_an_error_naming_the_file(self):
        with pytest.raises(ComponentConfigError,
                           match=r"custom/(EVSE_2|Connector_2_1)\.json: evse_id: EVSE 2 is not configured"):
            load_component_config(EVEREST_CONFIG, [1])


class TestParsing:
    """libocpp schema: properties -> variables, attributes, characteristics, default, required."""

    def test_variables_characteristics_attributes_and_required(self, config):
        (spec,) = [s for s in load_component_config(config, []) if s.name == "OCPPCommCtrlr"]
        assert spec.source_file == "standardized/OCPPCommCtrlr.json"
        assert (spec.instance, spec.evse_id, spec.connector_id) == (None, None, None)
        variables = {(v.name, v.instance): v for v in spec.variables}
        heartbeat = variables[("HeartbeatInterval", None)]
        assert heartbeat.characteristics == {"dataType": "integer", "supportsMonitoring": True,
                                             "unit": "s", "minLimit": 1}
        assert heartbeat.required and not variables[("Enabled", None)].required
        assert heartbeat.attributes == (AttributeSpec("Actual", "ReadWrite", None),)
        assert heartbeat.seed_value(heartbeat.attributes[0]) == "1800"

    def test_json_booleans_and_numbers_become_ocpp_strings(self, tmp_path):
        write(tmp_path, "standardized", "X.json", component("X", {
            "A": prop("A", "boolean", value=False, default=True),
            "B": prop("B", "integer", value=3),
            "C": prop("C", "decimal", value=1.5),
            "D": prop("D", "decimal", default=22000),
        }))
        (spec,) = load_component_config(tmp_path, [])
        values = {v.name: (v.attributes[0].value, v.default) for v in spec.variables}
        assert values == {"A": ("false", "true"), "B": ("3", None), "C": ("1.5", None), "D": (None, "22000")}

    def test_omitted_type_and_mutability_take_the_spec_defaults(self, tmp_path):
        entry = prop("A")
        entry["attributes"] = [{}]
        write(tmp_path, "custom", "X.json", component("X", {"A": entry}))
        (spec,) = load_component_config(tmp_path, [])
        # VariableAttributeType: type defaults to Actual, mutability to ReadWrite.
        assert spec.variables[0].attributes == (AttributeSpec("Actual", "ReadWrite", None),)

    def test_default_applies_only_to_the_actual_attribute(self, tmp_path):
        entry = prop("P", "decimal", default="5")
        entry["attributes"].append({"type": "MaxSet", "mutability": "ReadOnly"})
        write(tmp_path, "custom", "X.json", component("X", {"P": entry}))
        (variable,) = load_component_config(tmp_path, [])[0].variables
        assert [variable.seed_value(a) for a in variable.attributes] == ["5", None]

    def test_component_instance_evse_and_connector(self, tmp_path):
        write(tmp_path, "custom", "Lock.json", component(
            "PlugRetentionLock", {"A": prop("Enabled", "boolean", value=True)},
            instance="main", evse_id=1, connector_id=2))
        specs = load_component_config(tmp_path, [2])
        assert ("PlugRetentionLock", "main", 1, 2) in {s.key for s in specs}

    def test_monitors_and_source_are_read(self, tmp_path):
        entry = prop("A", "integer", value=1)
        entry["source"] = "OCPP"
        entry["monitors"] = [{"type": "UpperThreshold", "severity": 4, "value": 10,
                              "config_type": "HardWiredMonitor"}]
        write(tmp_path, "custom", "X.json", component("X", {"A": entry}))
        (variable,) = load_component_config(tmp_path, [])[0].variables
        assert variable.source == "OCPP"
        assert variable.monitors[0].type == "UpperThreshold" and variable.monitors[0].value == 10.0

    def test_custom_replaces_standardized_component_with_same_key(self, config):
        write(config, "custom", "OCPPCommCtrlr.json", component("OCPPCommCtrlr", {
            "HeartbeatInterval": prop("HeartbeatInterval", "integer", value=60)}))
        specs = [s for s in load_component_config(config, []) if s.name == "OCPPCommCtrlr"]
        assert len(specs) == 1 and specs[0].source_file == "custom/OCPPCommCtrlr.json"

    def test_files_other_than_json_are_ignored(self, config):
        write(config, "standardized", "README.md", "not json")
        assert [s.name for s in load_component_config(config, [])] == ["OCPPCommCtrlr"]


class TestErrors:
    """Bad files raise ComponentConfigError naming the file, the key path and the reason."""

    def test_invalid_json(self, config):
        write(config, "custom", "Broken.json", "{\"name\": ")
        with pytest.raises(ComponentConfigError, match=r"custom/Broken\.json: not valid JSON"):
            load_component_config(config, [])

    @pytest.mark.parametrize("patch, where, reason", [
        ({"evse_id": "1"}, "evse_id", "must be an integer, not string"),
        ({"evse_id": True}, "evse_id", "must be an integer, not boolean"),
        ({"evse_id": 0}, "evse_id", "must be 1 or more"),
        ({"connector_id": 1}, "connector_id", "needs an evse_id"),
        ({"name": 5}, "name", "must be a string"),
        ({"instance": ["a"]}, "instance", "must be a string"),
        ({"properties": []}, "properties", "must be an object"),
        ({"required": "A"}, "required", "array of property names"),
        ({"name": "N" * 51}, "name", "longer than 50 characters"),
        ({"required": ["Missing"]}, "required", "'Missing', which is not in properties"),
    ])
    def test_wrong_top_level_keys(self, tmp_path, patch, where, reason):
        doc = component("X", {"A": prop("A")})
        doc.update(patch)
        write(tmp_path, "custom", "X.json", doc)
        with pytest.raises(ComponentConfigError) as info:
            load_component_config(tmp_path, [1])
        assert str(info.value).startswith(f"custom/X.json: {where}: ")
        assert reason in str(info.value)

    @pytest.mark.parametrize("mutate, where, reason", [
        (lambda p: p.pop("variable_name"), "properties.A.variable_name", "is required"),
        (lambda p: p.update(variable_name=3), "properties.A.variable_name", "must be a string"),
        (lambda p: p.pop("characteristics"), "properties.A.characteristics", "is required"),
        (lambda p: p["characteristics"].update(dataType="float"), "properties.A.characteristics.dataType",
         "is not one of"),
        (lambda p: p["characteristics"].pop("supportsMonitoring"),
         "properties.A.characteristics.supportsMonitoring", "is required"),
        (lambda p: p["characteristics"].update(supportsMonitoring="yes"),
         "properties.A.characteristics.supportsMonitoring", "must be a boolean"),
        (lambda p: p["characteristics"].update(maxLimit="10"), "properties.A.characteristics.maxLimit",
         "must be a number"),
        (lambda p: p["characteristics"].update(minLimit=5, maxLimit=1), "properties.A.characteristics",
         "minLimit is greater than maxLimit"),
        (lambda p: p.update(attributes={}), "properties.A.attributes", "non-empty array"),
        (lambda p: p["attributes"][0].update(mutability="ReadSometimes"),
         "properties.A.attributes[0].mutability", "is not one of"),
        (lambda p: p["attributes"][0].update(type="Maximum"), "properties.A.attributes[0].type", "is not one of"),
        (lambda p: p["attributes"][0].update(value={"x": 1}), "properties.A.attributes[0].value",
         "must be a string, number or boolean"),
        (lambda p: p["attributes"].append({"type": "Actual"}), "properties.A.attributes[1].type",
         "duplicate attribute type Actual"),
        (lambda p: p.update(default=[1]), "properties.A.default", "must be a string, number or boolean"),
        (lambda p: p.update(instance=7), "properties.A.instance", "must be a string"),
        (lambda p: p.update(monitors={}), "properties.A.monitors", "must be an array"),
        (lambda p: p.update(variable_name="V" * 51), "properties.A.variable_name", "longer than 50"),
        (lambda p: p["characteristics"].update(unit="u" * 17), "properties.A.characteristics.unit",
         "longer than 16"),
    ])
    def test_wrong_variable_keys(self, tmp_path, mutate, where, reason):
        entry = prop("A", "integer", value=1)
        mutate(entry)
        write(tmp_path, "standardized", "X.json", component("X", {"A": entry}))
        with pytest.raises(ComponentConfigError) as info:
            load_component_config(tmp_path, [])
        assert str(info.value).startswith(f"standardized/X.json: {where}: ")
        assert reason in str(info.value)

    @pytest.mark.parametrize("data_type, value, extra", [
        ("integer", "abc", {}),
        ("boolean", "yes", {}),
        ("OptionList", "Blue", {"valuesList": "Red,Green"}),
        ("integer", 50, {"maxLimit": 10}),
    ])
    def test_values_must_fit_the_characteristics(self, tmp_path, data_type, value, extra):
        write(tmp_path, "custom", "X.json", component("X", {"A": prop("A", data_type, value=value, **extra)}))
        with pytest.raises(ComponentConfigError, match=r"properties\.A\.attributes\[0\]\.value: value does not fit"):
            load_component_config(tmp_path, [])

    def test_empty_string_value_is_accepted_for_any_type(self, tmp_path):
        write(tmp_path, "custom", "X.json", component("X", {"A": prop("A", "integer", value="")}))
        assert load_component_config(tmp_path, [])[0].variables[0].attributes[0].value == ""

    def test_monitors_on_a_variable_without_monitoring_support(self, tmp_path):
        entry = prop("A", "integer", value=1)
        entry["characteristics"]["supportsMonitoring"] = False
        entry["monitors"] = [{"type": "Delta", "severity": 1, "value": 1, "config_type": "HardWiredMonitor"}]
        write(tmp_path, "custom", "X.json", component("X", {"A": entry}))
        with pytest.raises(ComponentConfigError, match="does not support monitoring"):
            load_component_config(tmp_path, [])

    def test_duplicate_variable_in_one_file(self, tmp_path):
        write(tmp_path, "custom", "X.json", component("X", {
            "A": prop("Enabled", "boolean"), "B": prop("enabled", "boolean")}))
        with pytest.raises(ComponentConfigError, match=r"custom/X\.json: properties\.B: duplicate variable enabled"):
            load_component_config(tmp_path, [])

    def test_same_variable_name_with_different_instances_is_fine(self, tmp_path):
        write(tmp_path, "custom", "X.json", component("X", {
            "A": prop("ItemsPerMessage", "integer", instance="GetReport"),
            "B": prop("ItemsPerMessage", "integer", instance="GetVariables")}))
        assert len(load_component_config(tmp_path, [])[0].variables) == 2

    def test_duplicate_component_in_one_folder(self, config):
        write(config, "standardized", "Zz.json", component("ocppcommctrlr", {"A": prop("A")}))
        with pytest.raises(ComponentConfigError,
                           match=r"standardized/Zz\.json: name: describes the same component as "
                                 r"standardized/OCPPCommCtrlr\.json"):
            load_component_config(config, [])

    def test_connector_that_is_not_configured(self, tmp_path):
        write(tmp_path, "custom", "Connector_1_3.json", component(
            "Connector", {"A": prop("Available", "boolean")}, evse_id=1, connector_id=3))
        with pytest.raises(ComponentConfigError,
                           match=r"custom/Connector_1_3\.json: connector_id: connector 3 of EVSE 1 is not configured"):
            load_component_config(tmp_path, [2])

    def test_missing_folder(self, tmp_path):
        with pytest.raises(ComponentConfigError, match="does not exist"):
            load_component_config(tmp_path / "nope", [1])
        with pytest.raises(ComponentConfigError, match="neither"):
            load_component_config(tmp_path, [1])

    @pytest.mark.parametrize("counts", [[0], [1, -1], [True]])
    def test_bad_connector_counts(self, config, counts):
        with pytest.raises(ComponentConfigError, match="connectors_per_evse"):
            load_component_config(config, counts)


class TestGeneratedEvsesAndConnectors:
    """EVSE/Connector components for configured EVSEs that no file describes (part 2, 2.13)."""

    def test_every_configured_evse_and_connector_gets_a_component(self, config):
        specs = load_component_config(config, [1, 2])
        generated = [s.key for s in specs if s.source_file is None]
        lock = "ConnectorPlugRetentionLock"
        assert generated == [("EVSE", None, 1, None), ("Connector", None, 1, 1), (lock, None, 1, 1),
                             ("EVSE", None, 2, None), ("Connector", None, 2, 1), (lock, None, 2, 1),
                             ("Connector", None, 2, 2), (lock, None, 2, 2)]

    def test_a_generated_connector_has_a_retention_lock_with_problem_false(self, config):
        """G05.FR.02 reports ConnectorPlugRetentionLock.Problem (TC_G_20 prerequisite)."""
        [lock] = [s for s in load_component_config(config, [1])
                  if s.name == "ConnectorPlugRetentionLock"]
        assert (lock.evse_id, lock.connector_id) == (1, 1)
        values = {v.name: (v.attributes[0].mutability, v.attributes[0].value)
                  for v in lock.variables}
        assert values == {"Enabled": ("ReadOnly", "true"), "Problem": ("ReadOnly", "false")}

    def test_generated_evse_has_the_required_variables(self, config):
        evse = next(s for s in load_component_config(config, [1], evse_max_power_w=11000)
                    if s.name == "EVSE")
        variables = {v.name: v for v in evse.variables}
        assert {"Available", "AvailabilityState", "Power", "SupplyPhases", "AllowReset", "EvseId",
                "ISO15118EvseId"} <= set(variables)
        assert variables["Power"].characteristics["maxLimit"] == 11000
        assert [a.type for a in variables["Power"].attributes] == ["Actual", "MaxSet"]
        assert variables["AvailabilityState"].characteristics["valuesList"] == \
            "Available,Occupied,Reserved,Unavailable,Faulted"
        assert all(a.mutability == "ReadOnly" for v in variables.values() if v.name != "ISO15118EvseId"
                   for a in v.attributes)

    def test_generated_connector_has_the_required_variables(self, config):
        connector = next(s for s in load_component_config(config, [1], connector_type="cCCS2", supply_phases=0)
                         if s.name == "Connector")
        values = {v.name: v.attributes[0].value for v in connector.variables}
        assert values == {"Available": "true", "AvailabilityState": "Available",
                          "ConnectorType": "cCCS2", "SupplyPhases": "0"}

    def test_a_file_for_an_evse_suppresses_generation_of_that_evse_only(self, config):
        write(config, "custom", "EVSE_2.json", component("EVSE", {"A": prop("Available", "boolean", value=True)},
                                                         evse_id=2))
        specs = load_component_config(config, [1, 1])
        evses = {s.evse_id: s.source_file for s in specs if s.name == "EVSE"}
        assert evses == {1: None, 2: "custom/EVSE_2.json"}


class TestCheckValue:
    """Value checks used for SetVariables (B05.FR.07, B05.FR.08) and config values."""

    @pytest.mark.parametrize("chars, value, ok", [
        ({"dataType": "integer"}, "42", True),
        ({"dataType": "integer"}, "-7", True),
        ({"dataType": "integer"}, "4.2", False),
        ({"dataType": "integer"}, "", False),
        ({"dataType": "integer", "minLimit": 1, "maxLimit": 10}, "10", True),
        ({"dataType": "integer", "minLimit": 1, "maxLimit": 10}, "11", False),
        ({"dataType": "integer", "minLimit": 1}, "0", False),
        ({"dataType": "decimal"}, "3.25", True),
        ({"dataType": "decimal"}, "1e3", True),
        ({"dataType": "decimal"}, "nan", False),
        ({"dataType": "decimal"}, "1e999", False),
        ({"dataType": "decimal", "maxLimit": 22000}, "22000.5", False),
        ({"dataType": "boolean"}, "true", True),
        ({"dataType": "boolean"}, "True", False),
        ({"dataType": "dateTime"}, "2024-02-29T12:00:00Z", True),
        ({"dataType": "dateTime"}, "2024-02-29T12:00:00.123+01:00", True),
        ({"dataType": "dateTime"}, "2023-02-29T12:00:00Z", False),
        ({"dataType": "dateTime"}, "yesterday", False),
        ({"dataType": "string", "minLimit": 2, "maxLimit": 3}, "abc", True),
        ({"dataType": "string", "maxLimit": 3}, "abcd", False),
        ({"dataType": "string", "minLimit": 2}, "a", False),
        ({"dataType": "OptionList", "valuesList": "A, B"}, "B", True),
        ({"dataType": "OptionList", "valuesList": "A,B"}, "A,B", False),
        ({"dataType": "MemberList", "valuesList": "A,B,C"}, "C,A", True),
        ({"dataType": "MemberList", "valuesList": "A,B,C"}, "", True),
        ({"dataType": "MemberList", "valuesList": "A,B,C"}, "A,D", False),
        ({"dataType": "MemberList", "valuesList": "A,B,C"}, "A,A", False),
        ({"dataType": "SequenceList", "valuesList": "1,2"}, "2,1", True),
        ({"dataType": "SequenceList", "valuesList": "1,2", "maxLimit": 2}, "2,1", False),
    ])
    def test_values(self, chars, value, ok):
        assert (check_value(chars, value) is None) is ok

    def test_zero_can_be_allowed_below_min_limit(self):
        assert check_value({"dataType": "integer", "minLimit": 5}, "0", allow_zero=True) is None
        assert check_value({"dataType": "integer", "minLimit": 5}, "1", allow_zero=True) is not None


class TestParkingBaySensor:
    """evses.parking_bay_sensor: TxStartPoint/TxStopPoint offer ParkingBayOccupancy only when
    the EVSEs can sense the bay (part 2 §2.6.6; TC_E_12/TC_E_19 set it)."""

    SHIPPED = Path(__file__).resolve().parents[2] / "component_config"

    def points(self, **options) -> dict[str, dict]:
        specs = load_component_config(self.SHIPPED, [1], **options)
        [tx] = [s for s in specs if s.name == "TxCtrlr"]
        return {v.name: v.characteristics for v in tx.variables
                if v.name in ("TxStartPoint", "TxStopPoint")}

    def test_without_a_sensor_the_value_is_not_offered(self):
        for characteristics in self.points().values():
            assert "ParkingBayOccupancy" not in characteristics["valuesList"].split(",")

    def test_with_a_sensor_both_points_offer_it_and_the_whole_list_fits(self):
        points = self.points(parking_bay_sensor=True)
        assert set(points) == {"TxStartPoint", "TxStopPoint"}
        for characteristics in points.values():
            members = characteristics["valuesList"].split(",")
            assert members[0] == "ParkingBayOccupancy" and "EVConnected" in members
            assert characteristics.get("maxLimit", 1000) >= len(characteristics["valuesList"])


class TestSigningMeter:
    """evses.signing_meter: SignReadings exists only when the meters can sign ("When a Charging
    Station does not support signed meter values it SHALL NOT report this variable", part 2
    §2.7), and TxStartPoint offers DataSigned (E01.FR.04, TC_E_11 prerequisite)."""

    SHIPPED = Path(__file__).resolve().parents[2] / "component_config"

    def variables(self, component: str, **options) -> dict:
        specs = load_component_config(self.SHIPPED, [1], **options)
        [spec] = [s for s in specs if s.name == component and s.evse_id is None]
        return {v.name: v for v in spec.variables}

    def test_without_signing_nothing_is_reported(self):
        for component in ("SampledDataCtrlr", "AlignedDataCtrlr"):
            assert "SignReadings" not in self.variables(component)
        tx = self.variables("TxCtrlr")
        assert "DataSigned" not in tx["TxStartPoint"].characteristics["valuesList"]

    def test_with_signing_both_controllers_get_a_read_write_switch_off_by_default(self):
        for component in ("SampledDataCtrlr", "AlignedDataCtrlr"):
            sign = self.variables(component, signing_meter=True)["SignReadings"]
            assert sign.characteristics["dataType"] == "boolean"
            [actual] = sign.attributes
            assert (actual.type, actual.mutability, actual.value) == ("Actual", "ReadWrite",
                                                                      "false")

    def test_datasigned_is_a_start_point_only(self):
        tx = self.variables("TxCtrlr", signing_meter=True)
        start = tx["TxStartPoint"].characteristics
        assert "DataSigned" in start["valuesList"].split(",")
        assert start.get("maxLimit", 1000) >= len(start["valuesList"])
        # "DataSigned has no meaning as a TxStopPoint" (§2.6.6.2).
        assert "DataSigned" not in tx["TxStopPoint"].characteristics["valuesList"]

    def test_with_a_parking_sensor_too(self):
        tx = self.variables("TxCtrlr", signing_meter=True, parking_bay_sensor=True)
        members = tx["TxStartPoint"].characteristics["valuesList"].split(",")
        assert {"DataSigned", "ParkingBayOccupancy"} <= set(members)

    def test_public_key_policy_only_with_signing(self):
        assert "PublicKeyWithSignedMeterValue" not in self.variables("OCPPCommCtrlr")
        policy = self.variables("OCPPCommCtrlr", signing_meter=True)[
            "PublicKeyWithSignedMeterValue"]
        assert policy.characteristics["valuesList"].split(",") == [
            "Never", "OncePerTransaction", "EveryMeterValue"]
        [actual] = policy.attributes
        assert (actual.mutability, actual.value) == ("ReadWrite", "EveryMeterValue")
