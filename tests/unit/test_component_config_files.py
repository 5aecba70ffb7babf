"""Checks of the station's own device-model files, ``component_config/standardized/*.json``.

Theory of operation
-------------------
The files use libocpp's component schema: one JSON document per component with ``name`` and a
``properties`` object whose entries are variables (``variable_name``, optional ``instance``,
``characteristics``, ``attributes``). The device-model loader seeds the SQLite device model from
them, so a mistake here becomes a wrong GetVariables answer or a NotifyReport the CSMS (or OCTT)
rejects. These tests therefore check what OCPP itself demands of the reported data:

* every value fits its ``dataType``, ``valuesList`` and ``minLimit``/``maxLimit``
  (part 2, VariableCharacteristicsType; TC_B_53_CS checks list values against valuesList);
* list-typed variables carry a ``valuesList`` (TC_B_12/13/14/53_CS);
* every variable the spec marks *required* for a shipped component exists
  (``appendices-csv/dm_components_vars.csv``, plus part 4 section 8 and the 2025 errata, which
  make more variables required than the CSV does);
* mutability is one the spec allows ("Referenced Components and Variables", part 2);
* the variables OCTT reads and writes in the TC_B_* cases exist with a usable mutability;
* values that describe the same fact in two files agree (identity, model, vendor, the active
  NetworkConnectionProfile and its timeout and security profile).

The checks that compare against the specification's CSV files need
``../shared/reference/ocpp-2.0.1`` next to the repository (or ``$OCPP201_REFERENCE_DIR``); they
skip when it is absent, because the project must not need it at run time. Everything else only
needs the JSON files and the OCPP 2.0.1 JSON schemas shipped with the ``ocpp`` package.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import ocpp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "component_config" / "standardized"
SCHEMA_DIR = Path(ocpp.__file__).resolve().parent / "v201" / "schemas"

# Part 5 section 5 names the controller components each certification profile needs; the
# station ships all profiles in the brief (Core, Advanced Security, Local Authorization List
# Management, Smart Charging, Reservation, Advanced Device Management, Advanced User Interface,
# ISO 15118 support), plus AuthCacheCtrlr, CustomizationCtrlr, the ChargingStation component and
# libocpp's InternalCtrlr.
SHIPPED_COMPONENTS = frozenset({
    "AlignedDataCtrlr", "AuthCacheCtrlr", "AuthCtrlr", "ChargingStation", "ClockCtrlr",
    "CustomizationCtrlr", "DeviceDataCtrlr", "DisplayMessageCtrlr", "ISO15118Ctrlr",
    "InternalCtrlr", "LocalAuthListCtrlr", "MonitoringCtrlr", "OCPPCommCtrlr", "ReservationCtrlr",
    "SampledDataCtrlr", "SecurityCtrlr", "SmartChargingCtrlr", "TariffCostCtrlr", "TxCtrlr",
})

DATA_TYPES = frozenset({"string", "decimal", "integer", "dateTime", "boolean",
                        "OptionList", "SequenceList", "MemberList"})          # DataEnumType
LIST_TYPES = frozenset({"OptionList", "SequenceList", "MemberList"})
ATTRIBUTE_TYPES = frozenset({"Actual", "Target", "MinSet", "MaxSet"})        # AttributeEnumType
MUTABILITIES = frozenset({"ReadOnly", "ReadWrite", "WriteOnly"})              # MutabilityEnumType
JSON_TYPE_OF = {"boolean": "boolean", "integer": "integer", "decimal": "number"}

# Field sizes of the NotifyReport / GetVariables schemas (ComponentType.name, VariableType.name
# and .instance, VariableCharacteristicsType.unit and .valuesList, VariableAttributeType.value).
MAX_NAME, MAX_UNIT, MAX_VALUES_LIST, MAX_VALUE = 50, 16, 1000, 2500

RW, RO, WO = "ReadWrite", "ReadOnly", "WriteOnly"


# --------------------------------------------------------------------------------------------
# Loading helpers
# --------------------------------------------------------------------------------------------

def _config_files() -> list[Path]:
    return sorted(CONFIG_DIR.glob("*.json"))


@functools.cache
def _components() -> dict[str, dict]:
    """All shipped component documents by component name."""
    return {doc["name"]: doc for doc in (json.loads(p.read_text(encoding="utf-8"))
                                         for p in _config_files())}


def _variables():
    """Yield ``(component_name, property_key, property)`` for every shipped variable."""
    for name, doc in sorted(_components().items()):
        for key, prop in doc["properties"].items():
            yield name, key, prop


def _label(component: str, prop: dict) -> str:
    instance = prop.get("instance")
    return f"{component}.{prop['variable_name']}" + (f"[{instance}]" if instance else "")


def _find(component: str, variable: str, instance: str | None = None) -> dict | None:
    doc = _components().get(component)
    if doc is None:
        return None
    for prop in doc["properties"].values():
        if prop["variable_name"] == variable and prop.get("instance") == instance:
            return prop
    return None


def _get(component: str, variable: str, instance: str | None = None) -> dict:
    prop = _find(component, variable, instance)
    assert prop is not None, f"{component}.{variable}[{instance}] is missing"
    return prop


def _address_id(component: str, variable: str, instance: str | None) -> str:
    return f"{component}.{variable}" + (f"[{instance}]" if instance else "")


def _actual(prop: dict):
    for attribute in prop["attributes"]:
        if attribute.get("type", "Actual") == "Actual":
            return attribute.get("value")
    raise AssertionError(f"{prop['variable_name']} has no Actual attribute")


def _schema(action: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{action}.json").read_text(encoding="utf-8"))


def _enum(action: str, definition: str) -> set[str]:
    return set(_schema(action)["definitions"][definition]["enum"])


def _reference_csv_dir() -> Path | None:
    """The spec's appendices-csv folder, or None when the reference is not installed."""
    candidates = []
    if os.environ.get("OCPP201_REFERENCE_DIR"):
        candidates.append(Path(os.environ["OCPP201_REFERENCE_DIR"]))
    candidates.append(REPO_ROOT.parent / "shared" / "reference" / "ocpp-2.0.1")
    for candidate in candidates:
        folder = candidate / "appendices-csv"
        if (folder / "dm_components_vars.csv").is_file():
            return folder
    return None


def _read_csv(name: str) -> list[list[str]]:
    folder = _reference_csv_dir()
    if folder is None:
        pytest.skip("OCPP 2.0.1 reference (appendices-csv) not available")
    with open(folder / name, encoding="utf-8", newline="") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle, delimiter=";")]
    return rows[1:]   # drop the header


# --------------------------------------------------------------------------------------------
# Value conformance (VariableCharacteristicsType)
# --------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?\d+")


def _as_number(data_type: str, value):
    """The numeric value of an integer/decimal config value, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if data_type == "integer":
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _value_errors(characteristics: dict, value) -> list[str]:
    """Why ``value`` is not a valid value of a variable with these characteristics."""
    data_type = characteristics["dataType"]
    low, high = characteristics.get("minLimit"), characteristics.get("maxLimit")
    if data_type == "boolean":
        return [] if isinstance(value, bool) or value in ("true", "false") else ["not a boolean"]
    if data_type in ("integer", "decimal"):
        number = _as_number(data_type, value)
        if number is None:
            return [f"{value!r} is not a valid {data_type}"]
        errors = []
        if low is not None and number < low:
            errors.append(f"{number} < minLimit {low}")
        if high is not None and number > high:
            errors.append(f"{number} > maxLimit {high}")
        return errors
    if not isinstance(value, str):
        return [f"{value!r} is not a string"]
    errors = []
    # For string and list types maxLimit is the maximum length of the (CSV) string.
    if high is not None and len(value) > high:
        errors.append(f"length {len(value)} > maxLimit {high}")
    if data_type == "dateTime" and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return errors + [f"{value!r} is not an RFC 3339 date-time"]
        if parsed.tzinfo is None:
            errors.append(f"{value!r} has no time zone")
    if data_type in LIST_TYPES:
        allowed = characteristics.get("valuesList", "").split(",")
        if data_type == "OptionList":
            if value not in allowed:
                errors.append(f"{value!r} is not one of valuesList")
        elif value:
            members = value.split(",")
            errors += [f"{m!r} is not in valuesList" for m in members if m not in allowed]
            if len(set(members)) != len(members):
                errors.append("a member is repeated")
    return errors


# --------------------------------------------------------------------------------------------
# Files and components
# --------------------------------------------------------------------------------------------

class TestShippedFiles:
    """The component files (part 5 section 5: controller components per certification profile)."""

    def test_every_component_the_profiles_need_has_a_file(self):
        assert SHIPPED_COMPONENTS <= {p.stem for p in _config_files()}

    @pytest.mark.parametrize("path", _config_files(), ids=lambda p: p.name)
    def test_file_parses_and_is_named_after_its_component(self, path):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["name"] == path.stem
        assert 0 < len(doc["name"]) <= MAX_NAME
        assert doc.get("type") == "object"
        assert isinstance(doc["properties"], dict) and doc["properties"]
        assert isinstance(doc.get("description"), str) and doc["description"]

    @pytest.mark.parametrize("path", _config_files(), ids=lambda p: p.name)
    def test_required_list_names_existing_properties(self, path):
        doc = json.loads(path.read_text(encoding="utf-8"))
        required = doc.get("required", [])
        assert isinstance(required, list)
        assert len(set(required)) == len(required)
        assert set(required) <= doc["properties"].keys()

    def test_no_evse_or_connector_component_is_hand_written(self):
        # EVSE and Connector components are generated by the loader from the configured EVSEs.
        for name, doc in _components().items():
            assert name not in ("EVSE", "Connector")
            assert "evse_id" not in doc and "connector_id" not in doc, name

    def test_every_controller_has_an_enabled_variable(self):
        # Part 2 "Controller Components": every controller has Enabled; TC_B_16_CS reports
        # components by it.
        for name, doc in _components().items():
            if name.endswith("Ctrlr") and name != "InternalCtrlr":
                names = {prop["variable_name"] for prop in doc["properties"].values()}
                assert "Enabled" in names, name


# --------------------------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------------------------

VARIABLES = list(_variables()) if CONFIG_DIR.is_dir() else []
VARIABLE_IDS = [_label(c, p) for c, _, p in VARIABLES]


class TestVariableShape:
    """Per-variable structure: VariableType, VariableCharacteristicsType, VariableAttributeType."""

    @pytest.mark.parametrize("component,key,prop", VARIABLES, ids=VARIABLE_IDS)
    def test_variable_has_name_description_and_json_type(self, component, key, prop):
        assert isinstance(prop["variable_name"], str)
        assert 0 < len(prop["variable_name"]) <= MAX_NAME
        if "instance" in prop:
            assert isinstance(prop["instance"], str) and 0 < len(prop["instance"]) <= MAX_NAME
        assert isinstance(prop.get("description"), str) and prop["description"]
        assert prop["type"] == JSON_TYPE_OF.get(prop["characteristics"]["dataType"], "string")

    def test_variables_are_unique_within_a_component(self):
        for name, doc in _components().items():
            seen = [(p["variable_name"], p.get("instance")) for p in doc["properties"].values()]
            assert len(set(seen)) == len(seen), name

    @pytest.mark.parametrize("component,key,prop", VARIABLES, ids=VARIABLE_IDS)
    def test_characteristics_are_well_formed(self, component, key, prop):
        characteristics = prop["characteristics"]
        data_type = characteristics["dataType"]
        assert data_type in DATA_TYPES
        assert isinstance(characteristics["supportsMonitoring"], bool)
        if "unit" in characteristics:
            assert isinstance(characteristics["unit"], str)
            assert 0 < len(characteristics["unit"]) <= MAX_UNIT
        limits = [characteristics.get(k) for k in ("minLimit", "maxLimit")]
        for limit in limits:
            assert limit is None or (isinstance(limit, (int, float))
                                     and not isinstance(limit, bool))
        if None not in limits:
            assert limits[0] <= limits[1]

    @pytest.mark.parametrize("component,key,prop", VARIABLES, ids=VARIABLE_IDS)
    def test_list_types_and_only_they_have_a_values_list(self, component, key, prop):
        characteristics = prop["characteristics"]
        values_list = characteristics.get("valuesList")
        if characteristics["dataType"] not in LIST_TYPES:
            assert values_list is None
            return
        # TC_B_53_CS: valuesList of a list-typed variable is neither omitted nor empty.
        assert isinstance(values_list, str) and values_list
        assert len(values_list) <= MAX_VALUES_LIST
        members = values_list.split(",")
        assert all(m and m == m.strip() for m in members), values_list
        assert len(set(members)) == len(members), values_list

    @pytest.mark.parametrize("component,key,prop", VARIABLES, ids=VARIABLE_IDS)
    def test_attributes_have_valid_type_and_mutability(self, component, key, prop):
        attributes = prop["attributes"]
        assert isinstance(attributes, list) and attributes
        types = [a.get("type", "Actual") for a in attributes]
        assert set(types) <= ATTRIBUTE_TYPES
        assert len(set(types)) == len(types)
        for attribute in attributes:
            assert attribute.get("mutability", RW) in MUTABILITIES

    @pytest.mark.parametrize("component,key,prop", VARIABLES, ids=VARIABLE_IDS)
    def test_values_conform_to_the_characteristics(self, component, key, prop):
        for attribute in prop["attributes"]:
            if attribute.get("mutability") == WO:
                # Never ship a secret; the value would also never be reported (TC_B_53_CS).
                assert "value" not in attribute
                continue
            # VariableAttributeType.value may only be omitted when the attribute is WriteOnly.
            assert "value" in attribute, "only WriteOnly attributes may lack a value"
            value = attribute["value"]
            assert _value_errors(prop["characteristics"], value) == []
            assert len(value if isinstance(value, str) else json.dumps(value)) <= MAX_VALUE
        if "default" in prop:
            assert _value_errors(prop["characteristics"], prop["default"]) == []

    def test_units_are_standardized_units_of_measure(self):
        units = {row[0] for row in _read_csv("units_of_measure.csv") if row}
        for component, _, prop in _variables():
            unit = prop["characteristics"].get("unit")
            assert unit is None or unit in units, _label(component, prop)


# --------------------------------------------------------------------------------------------
# Required variables
# --------------------------------------------------------------------------------------------

# Required by part 4 section 8 (the CSV marks the RetryBackOff* variables optional) and by the
# 2025 errata (ActiveNetworkProfile, section 2.57), and by part 2 for stations that support TLS
# (AdditionalRootCertificateCheck) or basic authentication (BasicAuthPassword).
EXTRA_REQUIRED = [
    ("OCPPCommCtrlr", "ActiveNetworkProfile", None),
    ("OCPPCommCtrlr", "RetryBackOffRandomRange", None),
    ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None),
    ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None),
    ("OCPPCommCtrlr", "WebSocketPingInterval", None),
    ("SecurityCtrlr", "AdditionalRootCertificateCheck", None),
    ("SecurityCtrlr", "BasicAuthPassword", None),
]

# Variables libocpp refuses to start without; kept where libocpp keeps them.
INTERNAL_REQUIRED = [
    "ChargePointId", "NetworkConnectionProfiles", "ChargeBoxSerialNumber", "ChargePointModel",
    "ChargePointVendor", "FirmwareVersion", "NumberOfConnectors", "SupportedCiphers12",
    "SupportedCiphers13", "SupportedOcppVersions", "LogMessagesFormat",
]

# Where part 2's tables and the errata override the CSV's dataType column.
CSV_TYPE_CORRECTIONS = {
    ("OCPPCommCtrlr", "ActiveNetworkProfile"): "integer",           # part 2 2.1.1, errata 2.57
    ("OCPPCommCtrlr", "NetworkConfigurationPriority"): "SequenceList",  # part 2 2.1.6
}
CSV_PRIMITIVE_TYPES = {"passwordString": "string", "identifierString": "string"}


def _is_marked_required(component: str, prop: dict) -> bool:
    doc = _components()[component]
    return any(doc["properties"][key] is prop for key in doc.get("required", []))


class TestRequiredVariables:
    """Required variables (dm_components_vars.csv; part 2 "Referenced Components and Variables")."""

    def test_every_variable_the_appendix_requires_exists_and_is_marked_required(self):
        missing, unmarked = [], []
        for row in _read_csv("dm_components_vars.csv"):
            component, variable, instance, required = row[:4]
            if component not in _components() or required.lower() != "yes":
                continue
            if instance.startswith("<"):
                continue   # placeholder instances (<vendorId>, <n>) name no concrete variable
            prop = _find(component, variable, instance or None)
            if prop is None:
                missing.append(f"{component}.{variable}[{instance}]")
            elif not _is_marked_required(component, prop):
                unmarked.append(_label(component, prop))
        assert missing == []
        assert unmarked == []

    @pytest.mark.parametrize("component,variable,instance", EXTRA_REQUIRED)
    def test_variables_required_by_part4_errata_and_security_exist(self, component, variable,
                                                                   instance):
        assert _is_marked_required(component, _get(component, variable, instance))

    @pytest.mark.parametrize("variable", INTERNAL_REQUIRED)
    def test_internal_settings_the_station_needs_exist(self, variable):
        assert _is_marked_required("InternalCtrlr", _get("InternalCtrlr", variable))

    def test_required_variables_have_a_value_unless_write_only(self):
        for component, key, prop in _variables():
            if key in _components()[component].get("required", []):
                for attribute in prop["attributes"]:
                    if attribute.get("mutability") != WO:
                        assert "value" in attribute, _label(component, prop)

    def test_data_types_agree_with_the_appendix(self):
        for row in _read_csv("dm_components_vars.csv"):
            component, variable, instance, _, data_type = row[:5]
            prop = _find(component, variable, instance or None)
            if prop is None:
                continue
            expected = CSV_TYPE_CORRECTIONS.get(
                (component, variable), CSV_PRIMITIVE_TYPES.get(data_type, data_type))
            assert prop["characteristics"]["dataType"] == expected, _label(component, prop)


# --------------------------------------------------------------------------------------------
# Mutability
# --------------------------------------------------------------------------------------------

# Part 2 "Referenced Components and Variables" (and part 4 section 8): the mutability each
# variable may have. Where the spec leaves the choice to the station both are listed.
SPEC_MUTABILITY = {
    ("AlignedDataCtrlr", "Enabled", None): {RW}, ("AlignedDataCtrlr", "Available", None): {RO},
    ("AlignedDataCtrlr", "Interval", None): {RW}, ("AlignedDataCtrlr", "Measurands", None): {RW},
    ("AlignedDataCtrlr", "SendDuringIdle", None): {RW},
    ("AlignedDataCtrlr", "TxEndedInterval", None): {RW},
    ("AlignedDataCtrlr", "TxEndedMeasurands", None): {RW},
    ("AuthCacheCtrlr", "Enabled", None): {RW}, ("AuthCacheCtrlr", "Available", None): {RO},
    ("AuthCacheCtrlr", "LifeTime", None): {RW}, ("AuthCacheCtrlr", "Storage", None): {RO},
    ("AuthCacheCtrlr", "Policy", None): {RW},
    ("AuthCacheCtrlr", "DisablePostAuthorize", None): {RW},
    ("AuthCtrlr", "Enabled", None): {RW},
    ("AuthCtrlr", "AuthorizeRemoteStart", None): {RO, RW},
    ("AuthCtrlr", "LocalAuthorizeOffline", None): {RW},
    ("AuthCtrlr", "LocalPreAuthorize", None): {RW},
    ("AuthCtrlr", "MasterPassGroupId", None): {RW},
    ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None): {RW},
    ("AuthCtrlr", "DisableRemoteAuthorization", None): {RW},
    ("AuthCtrlr", "SupportedIdTokenTypes", None): {RO},
    ("ChargingStation", "AvailabilityState", None): {RO},
    ("ChargingStation", "Available", None): {RO},
    ("ChargingStation", "SupplyPhases", None): {RO},
    ("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate", None): {RW},
    ("ChargingStation", "PhaseRotation", None): {RO, RW},
    ("ClockCtrlr", "DateTime", None): {RO}, ("ClockCtrlr", "TimeSource", None): {RW},
    ("ClockCtrlr", "TimeOffset", None): {RW},
    ("ClockCtrlr", "TimeOffset", "NextTransition"): {RW},
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", None): {RW},
    ("ClockCtrlr", "TimeZone", None): {RW}, ("ClockCtrlr", "NtpSource", None): {RW},
    ("ClockCtrlr", "TimeAdjustmentReportingThreshold", None): {RW},
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"): {RO},
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables"): {RO},
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables"): {RO},
    ("DeviceDataCtrlr", "BytesPerMessage", "GetReport"): {RO},
    ("DeviceDataCtrlr", "BytesPerMessage", "GetVariables"): {RO},
    ("DeviceDataCtrlr", "BytesPerMessage", "SetVariables"): {RO},
    ("DeviceDataCtrlr", "ConfigurationValueSize", None): {RO},
    ("DeviceDataCtrlr", "ReportingValueSize", None): {RO},
    ("DisplayMessageCtrlr", "Enabled", None): {RW},
    ("DisplayMessageCtrlr", "Available", None): {RO},
    ("DisplayMessageCtrlr", "DisplayMessages", None): {RO},
    ("DisplayMessageCtrlr", "SupportedFormats", None): {RO},
    ("DisplayMessageCtrlr", "SupportedPriorities", None): {RO},
    ("ISO15118Ctrlr", "CentralContractValidationAllowed", None): {RW},
    ("ISO15118Ctrlr", "ContractValidationOffline", None): {RW},
    ("ISO15118Ctrlr", "PnCEnabled", None): {RW},
    ("ISO15118Ctrlr", "V2GCertificateInstallationEnabled", None): {RW},
    ("ISO15118Ctrlr", "ContractCertificateInstallationEnabled", None): {RW},
    ("ISO15118Ctrlr", "RequestMeteringReceipt", None): {RW},
    ("ISO15118Ctrlr", "SeccId", None): {RW}, ("ISO15118Ctrlr", "CountryName", None): {RW},
    ("ISO15118Ctrlr", "OrganizationName", None): {RW},
    ("LocalAuthListCtrlr", "Enabled", None): {RW}, ("LocalAuthListCtrlr", "Available", None): {RO},
    ("LocalAuthListCtrlr", "Entries", None): {RO},
    ("LocalAuthListCtrlr", "ItemsPerMessage", None): {RO},
    ("LocalAuthListCtrlr", "BytesPerMessage", None): {RO},
    ("LocalAuthListCtrlr", "Storage", None): {RO},
    ("LocalAuthListCtrlr", "DisablePostAuthorize", None): {RW},
    ("LocalAuthListCtrlr", "SupportsExpiryDateTime", None): {RO},
    ("MonitoringCtrlr", "Enabled", None): {RW}, ("MonitoringCtrlr", "Available", None): {RO},
    ("MonitoringCtrlr", "ItemsPerMessage", "ClearVariableMonitoring"): {RO},
    ("MonitoringCtrlr", "ItemsPerMessage", "SetVariableMonitoring"): {RO},
    ("MonitoringCtrlr", "BytesPerMessage", "ClearVariableMonitoring"): {RO},
    ("MonitoringCtrlr", "BytesPerMessage", "SetVariableMonitoring"): {RO},
    ("MonitoringCtrlr", "OfflineQueuingSeverity", None): {RW},
    ("MonitoringCtrlr", "ActiveMonitoringBase", None): {RO},
    ("MonitoringCtrlr", "ActiveMonitoringLevel", None): {RO},
    ("OCPPCommCtrlr", "ActiveNetworkProfile", None): {RO},
    ("OCPPCommCtrlr", "FileTransferProtocols", None): {RO},
    ("OCPPCommCtrlr", "HeartbeatInterval", None): {RW},
    ("OCPPCommCtrlr", "MessageTimeout", "Default"): {RO},
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"): {RW},
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"): {RW},
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None): {RW},
    ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None): {RW},
    ("OCPPCommCtrlr", "OfflineThreshold", None): {RW},
    ("OCPPCommCtrlr", "QueueAllMessages", None): {RW},
    ("OCPPCommCtrlr", "ResetRetries", None): {RW},
    ("OCPPCommCtrlr", "RetryBackOffRandomRange", None): {RW},
    ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None): {RW},
    ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None): {RW},
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None): {RO, RW},
    ("OCPPCommCtrlr", "WebSocketPingInterval", None): {RW},
    ("ReservationCtrlr", "Enabled", None): {RW}, ("ReservationCtrlr", "Available", None): {RO},
    ("ReservationCtrlr", "NonEvseSpecific", None): {RO},
    ("SampledDataCtrlr", "Enabled", None): {RW}, ("SampledDataCtrlr", "Available", None): {RO},
    ("SampledDataCtrlr", "TxEndedMeasurands", None): {RW},
    ("SampledDataCtrlr", "TxEndedInterval", None): {RW},
    ("SampledDataCtrlr", "TxStartedMeasurands", None): {RW},
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None): {RW},
    ("SampledDataCtrlr", "TxUpdatedInterval", None): {RW},
    ("SecurityCtrlr", "BasicAuthPassword", None): {WO},
    ("SecurityCtrlr", "Identity", None): {RO, RW},
    ("SecurityCtrlr", "OrganizationName", None): {RW},
    ("SecurityCtrlr", "CertificateEntries", None): {RO},
    ("SecurityCtrlr", "SecurityProfile", None): {RO},
    ("SecurityCtrlr", "AdditionalRootCertificateCheck", None): {RO},
    ("SecurityCtrlr", "MaxCertificateChainSize", None): {RO},
    ("SecurityCtrlr", "CertSigningWaitMinimum", None): {RW},
    ("SecurityCtrlr", "CertSigningRepeatTimes", None): {RW},
    ("SmartChargingCtrlr", "Enabled", None): {RW}, ("SmartChargingCtrlr", "Available", None): {RO},
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles"): {RO},
    ("SmartChargingCtrlr", "LimitChangeSignificance", None): {RW},
    ("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules", None): {RW},
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None): {RO},
    ("SmartChargingCtrlr", "ProfileStackLevel", None): {RO},
    ("SmartChargingCtrlr", "RateUnit", None): {RO},
    ("TariffCostCtrlr", "Enabled", "Tariff"): {RW}, ("TariffCostCtrlr", "Enabled", "Cost"): {RW},
    ("TariffCostCtrlr", "Available", "Tariff"): {RO},
    ("TariffCostCtrlr", "Available", "Cost"): {RO},
    ("TariffCostCtrlr", "Currency", None): {RW},
    ("TariffCostCtrlr", "TariffFallbackMessage", None): {RW},
    ("TariffCostCtrlr", "TotalCostFallbackMessage", None): {RW},
    ("TxCtrlr", "EVConnectionTimeOut", None): {RW},
    ("TxCtrlr", "MaxEnergyOnInvalidId", None): {RW},
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None): {RO, RW},
    ("TxCtrlr", "StopTxOnInvalidId", None): {RW},
    ("TxCtrlr", "TxStartPoint", None): {RO, RW}, ("TxCtrlr", "TxStopPoint", None): {RO, RW},
}


class TestMutability:
    """Mutability per part 2 "Referenced Components and Variables" and part 4 section 8."""

    @pytest.mark.parametrize("address,allowed", sorted(SPEC_MUTABILITY.items(), key=str),
                             ids=[_address_id(*a) for a in sorted(SPEC_MUTABILITY, key=str)])
    def test_mutability_is_one_the_spec_allows(self, address, allowed):
        prop = _find(*address)
        if prop is None:
            pytest.skip("optional variable not shipped")
        for attribute in prop["attributes"]:
            assert attribute.get("mutability") in allowed

    def test_only_secrets_are_write_only(self):
        write_only = [_label(c, p) for c, _, p in _variables()
                      if any(a.get("mutability") == WO for a in p["attributes"])]
        assert write_only == ["SecurityCtrlr.BasicAuthPassword"]


# --------------------------------------------------------------------------------------------
# What OCTT's TC_B_* cases read and write (part 6)
# --------------------------------------------------------------------------------------------

# (component, variable, instance, mutability OCTT needs or None, dataType, test cases). Part 6
# writes some names the way the PDF conversion garbled them ("OCPPCommCtrl",
# "LocalAuthorizationOffline"); the CSV spelling is the one OCTT uses on the wire.
TC_B_VARIABLES = [
    ("OCPPCommCtrlr", "OfflineThreshold", None, RW, "integer", "TC_B_02/06/07/09/10/11/51"),
    ("AuthCtrlr", "LocalAuthorizeOffline", None, RW, "boolean", "TC_B_07/10"),
    ("OCPPCommCtrlr", "MessageTimeout", "Default", RO, "integer", "TC_B_39"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", None, RW, "decimal", "TC_B_11"),
    ("AuthCtrlr", "AuthorizeRemoteStart", None, RW, "boolean", "TC_B_11"),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", None, RW, "dateTime", "TC_B_11"),
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None, RW, "SequenceList", "TC_B_45-50"),
    ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None, RW, "integer", "TC_B_46/49"),
    ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None, RW, "integer", "TC_B_49/51/57"),
    ("OCPPCommCtrlr", "RetryBackOffRandomRange", None, RW, "integer", "TC_B_51/57"),
    ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None, RW, "integer", "TC_B_57"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport", RO, "integer", "TC_B_54/55"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables", RO, "integer", "TC_B_54"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables", RO, "integer", "TC_B_54"),
    ("ChargingStation", "AvailabilityState", None, RO, "OptionList", "TC_B_14"),
]


class TestOcttProvisioningCases:
    """Variables touched by the provisioning test cases TC_B_*_CS (part 6)."""

    @pytest.mark.parametrize("component,variable,instance,mutability,data_type,cases",
                             TC_B_VARIABLES, ids=[_address_id(*r[:3]) for r in TC_B_VARIABLES])
    def test_variable_exists_with_the_mutability_octt_needs(self, component, variable, instance,
                                                            mutability, data_type, cases):
        prop = _get(component, variable, instance)
        assert prop["characteristics"]["dataType"] == data_type
        assert [a.get("mutability") for a in prop["attributes"]] == [mutability]

    def test_at_least_two_network_profile_slots_exist_and_999_is_not_one(self):
        # TC_B_45_CS needs two slots; TC_B_43_CS expects slot 999 to be rejected (B09.FR.02).
        slots = _get("OCPPCommCtrlr", "NetworkConfigurationPriority")[
            "characteristics"]["valuesList"].split(",")
        assert len(slots) >= 2
        assert "999" not in slots
        assert all(slot.isdigit() and int(slot) > 0 for slot in slots)

    def test_offline_threshold_rejects_fractions_by_type(self):
        # TC_B_11_CS sends <offlineThreshold + 0.1>, "true", a time and "abc": all invalid.
        characteristics = _get("OCPPCommCtrlr", "OfflineThreshold")["characteristics"]
        for bad in ("300.1", "true", "2024-01-01T00:00:00Z", "abc"):
            assert _value_errors(characteristics, bad) != [], bad
        assert _value_errors(characteristics, "300") == []


# --------------------------------------------------------------------------------------------
# Enumerated values
# --------------------------------------------------------------------------------------------

TX_START_STOP_POINTS = {"ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed",
                        "EnergyTransfer", "DataSigned"}   # part 2, E, "TxStartStopPoint values"


def _values_list(component: str, variable: str, instance: str | None = None) -> set[str]:
    return set(_get(component, variable, instance)["characteristics"]["valuesList"].split(","))


class TestEnumeratedValues:
    """valuesList entries come from the enumerations the spec defines for them."""

    @pytest.mark.parametrize("component,variable", [
        ("AlignedDataCtrlr", "Measurands"), ("AlignedDataCtrlr", "TxEndedMeasurands"),
        ("SampledDataCtrlr", "TxStartedMeasurands"), ("SampledDataCtrlr", "TxUpdatedMeasurands"),
        ("SampledDataCtrlr", "TxEndedMeasurands"),
    ])
    def test_measurand_lists_name_measurands(self, component, variable):
        assert _values_list(component, variable) <= _enum("MeterValuesRequest",
                                                          "MeasurandEnumType")

    def test_transaction_start_and_stop_points_are_spec_events(self):
        assert _values_list("TxCtrlr", "TxStartPoint") <= TX_START_STOP_POINTS
        # DataSigned "has no meaning as a TxStopPoint" (part 2, 2.6.6.2).
        assert _values_list("TxCtrlr", "TxStopPoint") <= TX_START_STOP_POINTS - {"DataSigned"}

    def test_other_enumerations(self):
        assert _values_list("DisplayMessageCtrlr", "SupportedFormats") <= _enum(
            "SetDisplayMessageRequest", "MessageFormatEnumType")
        assert _values_list("DisplayMessageCtrlr", "SupportedPriorities") <= _enum(
            "SetDisplayMessageRequest", "MessagePriorityEnumType")
        assert _values_list("SmartChargingCtrlr", "RateUnit") <= _enum(
            "SetChargingProfileRequest", "ChargingRateUnitEnumType")
        assert _values_list("AuthCtrlr", "SupportedIdTokenTypes") <= _enum(
            "AuthorizeRequest", "IdTokenEnumType")
        assert _values_list("MonitoringCtrlr", "ActiveMonitoringBase") <= _enum(
            "SetMonitoringBaseRequest", "MonitoringBaseEnumType")
        assert _values_list("ChargingStation", "AvailabilityState") == {
            "Available", "Occupied", "Reserved", "Unavailable", "Faulted"}
        assert _values_list("OCPPCommCtrlr", "FileTransferProtocols") <= {
            "FTP", "FTPS", "HTTP", "HTTPS", "SFTP"}
        assert _values_list("ClockCtrlr", "TimeSource") <= {
            "Heartbeat", "NTP", "GPS", "RealTimeClock", "MobileNetwork", "RadioTimeTransmitter"}
        # C-23: the supported time sources include at least Heartbeat.
        assert "Heartbeat" in _values_list("ClockCtrlr", "TimeSource")


# --------------------------------------------------------------------------------------------
# Facts stated in more than one place
# --------------------------------------------------------------------------------------------

def _network_profiles() -> list[dict]:
    return json.loads(_actual(_get("InternalCtrlr", "NetworkConnectionProfiles")))


class TestConsistency:
    """Values that describe the same fact in different files agree."""

    def test_identity_is_the_same_everywhere(self):
        assert (_actual(_get("SecurityCtrlr", "Identity"))
                == _actual(_get("InternalCtrlr", "ChargePointId")))

    @pytest.mark.parametrize("station_variable,internal_variable", [
        ("Model", "ChargePointModel"), ("VendorName", "ChargePointVendor"),
        ("SerialNumber", "ChargeBoxSerialNumber"), ("FirmwareVersion", "FirmwareVersion"),
    ])
    def test_boot_notification_facts_are_the_same_everywhere(self, station_variable,
                                                            internal_variable):
        station = _get("ChargingStation", station_variable)
        internal = _get("InternalCtrlr", internal_variable)
        assert _actual(station) == _actual(internal)
        assert station["characteristics"]["maxLimit"] == internal["characteristics"]["maxLimit"]

    def test_boot_notification_fields_fit_the_schema(self):
        fields = _schema("BootNotificationRequest")["definitions"]["ChargingStationType"][
            "properties"]
        for variable, field in [("ChargePointModel", "model"),
                                ("ChargePointVendor", "vendorName"),
                                ("ChargeBoxSerialNumber", "serialNumber"),
                                ("FirmwareVersion", "firmwareVersion")]:
            prop = _get("InternalCtrlr", variable)
            assert prop["characteristics"]["maxLimit"] == fields[field]["maxLength"], variable
            assert 0 < len(_actual(prop)) <= fields[field]["maxLength"], variable

    def test_network_profiles_are_valid_set_network_profile_payloads(self):
        schema = _schema("SetNetworkProfileRequest")
        validator = jsonschema.validators.validator_for(schema)(schema)
        profiles = _network_profiles()
        assert profiles
        for profile in profiles:
            validator.validate(profile)
        slots = [profile["configurationSlot"] for profile in profiles]
        assert len(set(slots)) == len(slots)
        known = _values_list("OCPPCommCtrlr", "NetworkConfigurationPriority")
        assert {str(slot) for slot in slots} <= known
        priority = _actual(_get("OCPPCommCtrlr", "NetworkConfigurationPriority")).split(",")
        assert set(priority) <= {str(slot) for slot in slots}

    def test_shipped_profiles_only_reach_loopback(self):
        for profile in _network_profiles():
            assert urlsplit(profile["connectionData"]["ocppCsmsUrl"]).hostname == "127.0.0.1"

    def test_active_profile_matches_timeout_and_security_profile(self):
        active = _actual(_get("OCPPCommCtrlr", "ActiveNetworkProfile"))
        (profile,) = [p for p in _network_profiles() if p["configurationSlot"] == active]
        data = profile["connectionData"]
        assert data["messageTimeout"] == _actual(_get("OCPPCommCtrlr", "MessageTimeout",
                                                      "Default"))
        assert data["securityProfile"] == _actual(_get("SecurityCtrlr", "SecurityProfile"))

    def test_websocket_ping_comes_before_transaction_message_retries_give_up(self):
        # Part 4 section 8.4: WebSocketPingInterval is best smaller than
        # MessageAttemptsTransactionEvent * MessageAttemptIntervalTransactionEvent.
        ping = _actual(_get("OCPPCommCtrlr", "WebSocketPingInterval"))
        attempts = _actual(_get("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"))
        interval = _actual(_get("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"))
        assert 0 < ping < attempts * interval

    def test_basic_auth_password_length_limit_follows_the_errata(self):
        # Errata 2025-09 (A00.FR.205): maxLimit is at least 40 and at most 64.
        limit = _get("SecurityCtrlr", "BasicAuthPassword")["characteristics"]["maxLimit"]
        assert 40 <= limit <= 64

    def test_ciphers_include_the_mandatory_suites(self):
        # A00.FR.318/319 in OpenSSL naming: the ECDSA pair and the RSA pair.
        ciphers = set(_actual(_get("InternalCtrlr", "SupportedCiphers12")).split(","))
        assert {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"} <= ciphers
        assert {"AES128-GCM-SHA256", "AES256-GCM-SHA384"} <= ciphers


# --------------------------------------------------------------------------------------------
# Claims the station can keep (issue #9)
# --------------------------------------------------------------------------------------------

# The CSMS-to-station actions each controller stands for (part 2: blocks O, I, N, M and L/N
# for file transfer). A CSMS reads Available/Enabled in the base report to decide what to use.
CONTROLLER_ACTIONS = {
    "DisplayMessageCtrlr": ("SetDisplayMessage", "GetDisplayMessages", "ClearDisplayMessage"),
    "TariffCostCtrlr": ("CostUpdated",),
    "MonitoringCtrlr": ("SetVariableMonitoring", "ClearVariableMonitoring", "SetMonitoringBase",
                        "SetMonitoringLevel", "GetMonitoringReport"),
    # M03-M05: certificate management for ISO 15118 (contract and V2G certificates).
    "ISO15118Ctrlr": ("InstallCertificate", "DeleteCertificate", "GetInstalledCertificateIds"),
}
# FileTransferProtocols serves firmware download (L01), log upload (N01) and publishing (L03).
FILE_TRANSFER_ACTIONS = ("UpdateFirmware", "GetLog", "PublishFirmware")


@pytest.fixture(scope="module")
def not_supported(tmp_path_factory) -> set[str]:
    """The actions the real station core answers with CALLERROR NotSupported, as a CSMS sees
    them after an Accepted boot."""
    from tests.unit.station_harness import Harness

    harness = Harness(tmp_path_factory.mktemp("claims"))
    harness.boot()
    harness.drain_calls()
    actions = {a for actions in CONTROLLER_ACTIONS.values() for a in actions}
    refused = set()
    for action in sorted(actions | set(FILE_TRANSFER_ACTIONS)):
        reply = harness.csms_call(action, {})[0]
        if reply[0] == 4 and reply[2] == "NotSupported":
            refused.add(action)
        harness.drain_calls()
    return refused


def _actual_values(component: str, variable: str) -> list:
    return [_actual(prop) for prop in _components()[component]["properties"].values()
            if prop["variable_name"] == variable]


class TestClaims:
    """The device model says only what the station implements: a CSMS picks its tests from the
    base report (part 2 "Available": the component exists and is configured for use)."""

    @pytest.mark.parametrize("component", sorted(CONTROLLER_ACTIONS))
    def test_a_controller_whose_actions_are_not_supported_is_neither_available_nor_enabled(
            self, component, not_supported):
        if not set(CONTROLLER_ACTIONS[component]) <= not_supported:
            pytest.skip(f"{component} is implemented")
        for variable in ("Available", "Enabled"):
            values = _actual_values(component, variable)
            assert values, f"{component}.{variable} missing"
            assert all(value in (False, "false") for value in values), \
                f"{component}.{variable} claims {values}"

    def test_file_transfer_protocols_claim_none_without_a_transfer(self, not_supported):
        # 2.1.4 FileTransferProtocols is required: with nothing to transfer it is empty.
        if not set(FILE_TRANSFER_ACTIONS) <= not_supported:
            pytest.skip("a file transfer is implemented")
        assert _actual(_get("OCPPCommCtrlr", "FileTransferProtocols")) == ""

    def test_iso15118_features_are_off_without_iso15118(self, not_supported):
        if not set(CONTROLLER_ACTIONS["ISO15118Ctrlr"]) <= not_supported:
            pytest.skip("ISO 15118 is implemented")
        for variable in ("ContractValidationOffline", "PnCEnabled",
                         "V2GCertificateInstallationEnabled",
                         "ContractCertificateInstallationEnabled"):
            assert _actual(_get("ISO15118Ctrlr", variable)) is False, variable

    def test_display_supports_no_message_priorities_without_set_display_message(
            self, not_supported):
        if "SetDisplayMessage" not in not_supported:
            pytest.skip("display messages are implemented")
        assert _actual(_get("DisplayMessageCtrlr", "SupportedPriorities")) == ""
