"""Component configuration loader (libocpp's component JSON schema).

Theory of operation
-------------------
The device model of the station is described by JSON files, one component per
file, in two folders: ``<config_dir>/standardized`` (the OCPP controller
components: OCPPCommCtrlr, TxCtrlr, ...) and ``<config_dir>/custom`` (EVSEs,
connectors, vendor components). The format is libocpp's component schema, so an
unmodified EVerest ``component_config`` folder loads as it is::

    {"name": "OCPPCommCtrlr", "evse_id": 1?, "connector_id": 1?, "instance": "x"?,
     "properties": {
        "<key>": {"variable_name": "HeartbeatInterval", "instance": "x"?,
                  "characteristics": {"dataType": "integer", "unit": "s",
                                      "minLimit": 1, "maxLimit": 9, "valuesList": "a,b",
                                      "supportsMonitoring": true},
                  "attributes": [{"type": "Actual", "mutability": "ReadWrite",
                                  "value": 300}],
                  "default": "1800", "source": "OCPP"?, "monitors": [...]?}},
     "required": ["<key>", ...]}

Every other key (``$schema``, ``description``, the JSON-schema ``type``,
``minLength``...) is documentation and ignored.

Loading is pure: it reads files and returns frozen :class:`ComponentSpec`
objects; it never touches the database (``device_model.store`` seeds the
database from the specs). Rules:

* Values may be JSON strings, numbers or booleans; they are normalised to the
  OCPP wire form (``true``/``false``, numbers as their JSON text), as libocpp
  does, and checked against the variable's characteristics.
* A component in ``custom/`` replaces the component with the same key
  (name, instance, evse, connector) in ``standardized/`` (libocpp merges the
  same way). Two files in one folder for the same key are an error, as are two
  properties of one file for the same variable name + instance.
* The station's EVSE/connector layout comes from the station configuration
  (``connectors_per_evse``). A file for an EVSE or connector that is not
  configured is an error. EVSE and Connector components for configured EVSEs
  that no file describes are generated, so nobody hand-writes 128 EVSE files.
* Every problem raises :class:`ComponentConfigError` naming the file, the key
  path inside it and the reason; nothing else escapes for bad input.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "ATTRIBUTE_TYPES",
    "DATA_TYPES",
    "MUTABILITIES",
    "AttributeSpec",
    "ComponentConfigError",
    "ComponentSpec",
    "MonitorSpec",
    "VariableSpec",
    "check_value",
    "load_component_config",
]

# Enumerations, in libocpp's database id order (the index is the *_ID value).
ATTRIBUTE_TYPES: tuple[str, ...] = ("Actual", "Target", "MinSet", "MaxSet")
MUTABILITIES: tuple[str, ...] = ("ReadOnly", "WriteOnly", "ReadWrite")
DATA_TYPES: tuple[str, ...] = (
    "string", "decimal", "integer", "dateTime", "boolean",
    "OptionList", "SequenceList", "MemberList",
)
MONITOR_TYPES: tuple[str, ...] = (
    "UpperThreshold", "LowerThreshold", "Delta", "Periodic", "PeriodicClockAligned",
)
MONITOR_CONFIG_TYPES: tuple[str, ...] = (
    "HardWiredMonitor", "PreconfiguredMonitor", "CustomMonitor",
)

STANDARDIZED_DIR = "standardized"
CUSTOM_DIR = "custom"

#: Defaults for generated EVSE/Connector components (overridable per call).
DEFAULT_EVSE_MAX_POWER_W = 22000.0
DEFAULT_CONNECTOR_TYPE = "sType2"
DEFAULT_SUPPLY_PHASES = 3

_AVAILABILITY_STATES = "Available,Occupied,Reserved,Unavailable,Faulted"


class ComponentConfigError(ValueError):
    """The component configuration cannot be used.

    The message names the file, the key path inside it and the reason, e.g.
    ``custom/EVSE_3.json: evse_id: EVSE 3 is not configured (the station has 2 EVSEs)``.
    """


@dataclass(frozen=True)
class AttributeSpec:
    """One variable attribute (Actual/Target/MinSet/MaxSet) as configured.

    ``value`` is the configured value in OCPP string form, or None. The
    variable's ``default`` applies to the Actual attribute when it has no value
    (see :meth:`VariableSpec.seed_value`).
    """

    type: str
    mutability: str
    value: str | None
    persistent: bool = True
    constant: bool = False


@dataclass(frozen=True)
class MonitorSpec:
    """A hard-wired or preconfigured monitor from the config (libocpp ``monitors``)."""

    type: str
    severity: int
    value: float
    transaction: bool = False
    config_type: str = "PreconfiguredMonitor"
    reference_value: str | None = None


@dataclass(frozen=True)
class VariableSpec:
    """One variable of a component.

    ``characteristics`` uses the wire names of VariableCharacteristicsType:
    ``dataType`` and ``supportsMonitoring`` always, ``unit``, ``minLimit``,
    ``maxLimit`` and ``valuesList`` when configured.
    """

    name: str
    instance: str | None
    characteristics: dict
    attributes: tuple[AttributeSpec, ...]
    default: str | None
    required: bool
    source: str | None = None
    monitors: tuple[MonitorSpec, ...] = ()

    def seed_value(self, attribute: AttributeSpec) -> str | None:
        """The value the config gives ``attribute``: its own, else the default (Actual only)."""
        if attribute.value is not None:
            return attribute.value
        if attribute.type == "Actual":
            return self.default
        return None


@dataclass(frozen=True)
class ComponentSpec:
    """One component: a JSON file, or a generated EVSE/Connector (``source_file`` None)."""

    name: str
    instance: str | None
    evse_id: int | None
    connector_id: int | None
    variables: tuple[VariableSpec, ...]
    source_file: str | None

    @property
    def key(self) -> tuple[str, str | None, int | None, int | None]:
        """Identity of the component: (name, instance, evse_id, connector_id)."""
        return (self.name, self.instance, self.evse_id, self.connector_id)


# --------------------------------------------------------------------------
# Value checks (shared with device_model.model for SetVariables)
# --------------------------------------------------------------------------

_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# RFC 3339 date-time (part 2, 3.26 DataEnumType dateTime).
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _csv_items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",")]


def _format_limit(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def check_value(characteristics: Mapping[str, Any], value: str, *, allow_zero: bool = False) -> str | None:
    """Check ``value`` against a variable's characteristics.

    Implements the format (B05.FR.07) and range (B05.FR.08) checks: the value
    must parse as the variable's ``dataType``; numbers must lie within
    ``minLimit``..``maxLimit``; for string and list types ``minLimit`` and
    ``maxLimit`` bound the length of the (CSV) string (VariableCharacteristicsType
    maxLimit); OptionList values must be one entry of ``valuesList``;
    MemberList/SequenceList values a (sub)set of it without repeats.

    Args:
        characteristics: wire-form characteristics (``dataType``, limits, ``valuesList``).
        value: the OCPP string value.
        allow_zero: accept "0" for a number even when below ``minLimit`` (the
            interval variables where 0 means "off").

    Returns:
        None when the value is acceptable, else a short reason for logs and
        statusInfo.additionalInfo.
    """
    data_type = characteristics.get("dataType", "string")
    min_limit = characteristics.get("minLimit")
    max_limit = characteristics.get("maxLimit")
    values_list = characteristics.get("valuesList")

    if data_type in ("integer", "decimal"):
        if data_type == "integer":
            if not _INTEGER_RE.fullmatch(value):
                return f"'{value}' is not an integer"
            number: float = int(value)
        else:
            if not _DECIMAL_RE.fullmatch(value):
                return f"'{value}' is not a decimal"
            number = float(value)
            if math.isinf(number):
                return f"'{value}' is out of range"
        if allow_zero and number == 0:
            return None
        if min_limit is not None and number < min_limit:
            return f"{value} is below minLimit {_format_limit(min_limit)}"
        if max_limit is not None and number > max_limit:
            return f"{value} is above maxLimit {_format_limit(max_limit)}"
        return None

    if data_type == "boolean":
        return None if value in ("true", "false") else f"'{value}' is not a boolean (true/false)"

    if data_type == "dateTime":
        if not _DATETIME_RE.fullmatch(value):
            return f"'{value}' is not an RFC 3339 date-time"
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            return f"'{value}' is not a valid date-time"
        return None

    # string, OptionList, MemberList, SequenceList: limits bound the length
    # of the (CSV) string (VariableCharacteristicsType.maxLimit).
    if min_limit is not None and len(value) < min_limit:
        return f"length {len(value)} is below minLimit {_format_limit(min_limit)}"
    if max_limit is not None and len(value) > max_limit:
        return f"length {len(value)} is above maxLimit {_format_limit(max_limit)}"
    if data_type == "string" or values_list is None:
        return None
    allowed = _csv_items(values_list)
    if data_type == "OptionList":
        return None if value.strip() in allowed else f"'{value}' is not one of {values_list}"
    # MemberList / SequenceList: an (ordered) sub-set; the empty set is allowed.
    if value.strip() == "":
        return None
    items = _csv_items(value)
    for item in items:
        if item not in allowed:
            return f"'{item}' is not one of {values_list}"
    if len(set(items)) != len(items):
        return f"'{value}' repeats a member"
    return None


# --------------------------------------------------------------------------
# JSON parsing
# --------------------------------------------------------------------------


class _Ctx:
    """Error context: the file being read (as shown in messages)."""

    def __init__(self, shown_name: str) -> None:
        self.file = shown_name

    def error(self, path: str, reason: str) -> ComponentConfigError:
        return ComponentConfigError(f"{self.file}: {path}: {reason}" if path else f"{self.file}: {reason}")


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _expect_str(ctx: _Ctx, path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ctx.error(path, f"must be a string, not {_type_name(value)}")
    return value


def _expect_name(ctx: _Ctx, path: str, value: Any, max_length: int = 50) -> str:
    # ComponentType/VariableType name and instance are string[0..50]; longer
    # ones could never be reported (NotifyReport schema).
    text = _expect_str(ctx, path, value)
    if len(text) > max_length:
        raise ctx.error(path, f"is longer than {max_length} characters")
    return text


def _expect_id(ctx: _Ctx, path: str, value: Any) -> int:
    # bool is an int in Python; reject it explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(path, f"must be an integer, not {_type_name(value)}")
    if value < 1:
        raise ctx.error(path, f"must be 1 or more, not {value}")  # part 1, 7.1/7.2 numbering
    return value


def _expect_number(ctx: _Ctx, path: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.error(path, f"must be a number, not {_type_name(value)}")
    return value


def _expect_bool(ctx: _Ctx, path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(path, f"must be a boolean, not {_type_name(value)}")
    return value


def _ocpp_string(ctx: _Ctx, path: str, value: Any) -> str | None:
    """Normalise a JSON scalar to the OCPP string form (as libocpp does)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ctx.error(path, "must be a finite number")
        return json.dumps(value)
    raise ctx.error(path, f"must be a string, number or boolean, not {_type_name(value)}")


def _parse_characteristics(ctx: _Ctx, path: str, raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise ctx.error(path, f"must be an object, not {_type_name(raw)}")
    if "dataType" not in raw:
        raise ctx.error(f"{path}.dataType", "is required")
    data_type = _expect_str(ctx, f"{path}.dataType", raw["dataType"])
    if data_type not in DATA_TYPES:
        raise ctx.error(f"{path}.dataType", f"'{data_type}' is not one of {', '.join(DATA_TYPES)}")
    if "supportsMonitoring" not in raw:
        # Required by VariableCharacteristicsType (1..1) and by libocpp.
        raise ctx.error(f"{path}.supportsMonitoring", "is required")
    result: dict[str, Any] = {
        "dataType": data_type,
        "supportsMonitoring": _expect_bool(ctx, f"{path}.supportsMonitoring", raw["supportsMonitoring"]),
    }
    if raw.get("unit") is not None:
        result["unit"] = _expect_name(ctx, f"{path}.unit", raw["unit"], 16)  # unit string[0..16]
    for limit in ("minLimit", "maxLimit"):
        if raw.get(limit) is not None:
            result[limit] = _expect_number(ctx, f"{path}.{limit}", raw[limit])
    if "minLimit" in result and "maxLimit" in result and result["minLimit"] > result["maxLimit"]:
        raise ctx.error(path, "minLimit is greater than maxLimit")
    if raw.get("valuesList") is not None:
        result["valuesList"] = _expect_name(ctx, f"{path}.valuesList", raw["valuesList"], 1000)  # [0..1000]
    return result


def _parse_attribute(ctx: _Ctx, path: str, raw: Any) -> AttributeSpec:
    if not isinstance(raw, dict):
        raise ctx.error(path, f"must be an object, not {_type_name(raw)}")
    # VariableAttributeType: type defaults to Actual, mutability to ReadWrite
    # when omitted (part 2, 2.50).
    attr_type = _expect_str(ctx, f"{path}.type", raw.get("type", "Actual"))
    if attr_type not in ATTRIBUTE_TYPES:
        raise ctx.error(f"{path}.type", f"'{attr_type}' is not one of {', '.join(ATTRIBUTE_TYPES)}")
    mutability = _expect_str(ctx, f"{path}.mutability", raw.get("mutability", "ReadWrite"))
    if mutability not in MUTABILITIES:
        raise ctx.error(f"{path}.mutability", f"'{mutability}' is not one of {', '.join(MUTABILITIES)}")
    persistent = _expect_bool(ctx, f"{path}.persistent", raw.get("persistent", True))
    constant = _expect_bool(ctx, f"{path}.constant", raw.get("constant", False))
    value = _ocpp_string(ctx, f"{path}.value", raw.get("value"))
    return AttributeSpec(type=attr_type, mutability=mutability, value=value,
                         persistent=persistent, constant=constant)


def _parse_monitor(ctx: _Ctx, path: str, raw: Any) -> MonitorSpec:
    if not isinstance(raw, dict):
        raise ctx.error(path, f"must be an object, not {_type_name(raw)}")
    for key in ("type", "severity", "value", "config_type"):
        if key not in raw:
            raise ctx.error(f"{path}.{key}", "is required")
    mon_type = _expect_str(ctx, f"{path}.type", raw["type"])
    if mon_type not in MONITOR_TYPES:
        raise ctx.error(f"{path}.type", f"'{mon_type}' is not one of {', '.join(MONITOR_TYPES)}")
    config_type = _expect_str(ctx, f"{path}.config_type", raw["config_type"])
    if config_type not in MONITOR_CONFIG_TYPES[:2]:
        raise ctx.error(f"{path}.config_type", "must be HardWiredMonitor or PreconfiguredMonitor")
    severity = raw["severity"]
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity <= 9:
        raise ctx.error(f"{path}.severity", "must be an integer 0..9")
    reference = raw.get("reference_value")
    return MonitorSpec(
        type=mon_type,
        severity=severity,
        value=float(_expect_number(ctx, f"{path}.value", raw["value"])),
        transaction=_expect_bool(ctx, f"{path}.transaction", raw.get("transaction", False)),
        config_type=config_type,
        reference_value=_ocpp_string(ctx, f"{path}.reference_value", reference),
    )


def _check_seed_value(ctx: _Ctx, path: str, characteristics: dict, value: str | None) -> None:
    # An empty string is "no value yet" in many shipped configs; libocpp
    # accepts it for every type too.
    if value is None or value == "":
        return
    reason = check_value(characteristics, value)
    if reason is not None:
        raise ctx.error(path, f"value does not fit the characteristics: {reason}")


def _parse_variable(ctx: _Ctx, path: str, raw: Any, required: bool) -> VariableSpec:
    if not isinstance(raw, dict):
        raise ctx.error(path, f"must be an object, not {_type_name(raw)}")
    if "variable_name" not in raw:
        raise ctx.error(f"{path}.variable_name", "is required")
    name = _expect_name(ctx, f"{path}.variable_name", raw["variable_name"])
    if not name:
        raise ctx.error(f"{path}.variable_name", "must not be empty")
    instance = raw.get("instance")
    if instance is not None:
        instance = _expect_name(ctx, f"{path}.instance", instance) or None
    if "characteristics" not in raw:
        raise ctx.error(f"{path}.characteristics", "is required")
    characteristics = _parse_characteristics(ctx, f"{path}.characteristics", raw["characteristics"])
    raw_attributes = raw.get("attributes")
    if not isinstance(raw_attributes, list) or not raw_attributes:
        raise ctx.error(f"{path}.attributes", "must be a non-empty array of attributes")
    attributes: list[AttributeSpec] = []
    for index, raw_attribute in enumerate(raw_attributes):
        attribute = _parse_attribute(ctx, f"{path}.attributes[{index}]", raw_attribute)
        if any(a.type == attribute.type for a in attributes):
            raise ctx.error(f"{path}.attributes[{index}].type", f"duplicate attribute type {attribute.type}")
        _check_seed_value(ctx, f"{path}.attributes[{index}].value", characteristics, attribute.value)
        attributes.append(attribute)
    default = _ocpp_string(ctx, f"{path}.default", raw.get("default"))
    _check_seed_value(ctx, f"{path}.default", characteristics, default)
    source = raw.get("source")
    if source is not None:
        source = _expect_str(ctx, f"{path}.source", source)
    monitors: list[MonitorSpec] = []
    if raw.get("monitors") is not None:
        if not isinstance(raw["monitors"], list):
            raise ctx.error(f"{path}.monitors", f"must be an array, not {_type_name(raw['monitors'])}")
        if raw["monitors"] and not characteristics["supportsMonitoring"]:
            raise ctx.error(f"{path}.monitors", "variable does not support monitoring")
        for index, raw_monitor in enumerate(raw["monitors"]):
            monitors.append(_parse_monitor(ctx, f"{path}.monitors[{index}]", raw_monitor))
    return VariableSpec(
        name=name, instance=instance, characteristics=characteristics,
        attributes=tuple(attributes), default=default, required=required,
        source=source, monitors=tuple(monitors),
    )


def _parse_component(ctx: _Ctx, raw: Any) -> ComponentSpec:
    if not isinstance(raw, dict):
        raise ctx.error("", f"top level must be an object, not {_type_name(raw)}")
    if "name" not in raw:
        raise ctx.error("name", "is required")
    name = _expect_name(ctx, "name", raw["name"])
    if not name:
        raise ctx.error("name", "must not be empty")
    instance = raw.get("instance")
    if instance is not None:
        instance = _expect_name(ctx, "instance", instance) or None
    evse_id = _expect_id(ctx, "evse_id", raw["evse_id"]) if raw.get("evse_id") is not None else None
    connector_id = None
    if raw.get("connector_id") is not None:
        connector_id = _expect_id(ctx, "connector_id", raw["connector_id"])
        if evse_id is None:
            raise ctx.error("connector_id", "a connector_id needs an evse_id")
    properties = raw.get("properties")
    if not isinstance(properties, dict):
        raise ctx.error("properties", f"must be an object, not {_type_name(properties)}")
    required_keys = raw.get("required", [])
    if not isinstance(required_keys, list) or not all(isinstance(k, str) for k in required_keys):
        raise ctx.error("required", "must be an array of property names")
    for key in required_keys:
        if key not in properties:
            raise ctx.error("required", f"names '{key}', which is not in properties")
    variables: list[VariableSpec] = []
    seen: dict[tuple[str, str | None], str] = {}
    for key, raw_variable in properties.items():
        variable = _parse_variable(ctx, f"properties.{key}", raw_variable, key in required_keys)
        # Names are case-insensitive on the wire (ComponentType/VariableType).
        ident = (variable.name.casefold(), variable.instance.casefold() if variable.instance else None)
        if ident in seen:
            shown = variable.name + (f"[{variable.instance}]" if variable.instance else "")
            raise ctx.error(f"properties.{key}", f"duplicate variable {shown} (also properties.{seen[ident]})")
        seen[ident] = key
        variables.append(variable)
    return ComponentSpec(name=name, instance=instance, evse_id=evse_id, connector_id=connector_id,
                         variables=tuple(variables), source_file=ctx.file)


def _component_ident(spec: ComponentSpec) -> tuple:
    return (spec.name.casefold(), spec.instance.casefold() if spec.instance else None,
            spec.evse_id, spec.connector_id)


def _read_folder(root: Path, folder: str) -> list[ComponentSpec]:
    directory = root / folder
    if not directory.is_dir():
        return []
    specs: list[ComponentSpec] = []
    seen: dict[tuple, str] = {}
    for path in sorted(directory.glob("*.json")):
        ctx = _Ctx(f"{folder}/{path.name}")
        try:
            with open(path, encoding="utf-8") as handle:
                raw = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ctx.error("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ctx.error("", f"cannot be read: {exc}") from None
        spec = _parse_component(ctx, raw)
        ident = _component_ident(spec)
        if ident in seen:
            raise ctx.error("name", f"describes the same component as {seen[ident]}")
        seen[ident] = ctx.file
        specs.append(spec)
    return specs


# --------------------------------------------------------------------------
# Generated EVSE / Connector components
# --------------------------------------------------------------------------


def _var(name: str, data_type: str, mutability: str, value: str | None, *,
         required: bool = True, extra_attributes: Iterable[AttributeSpec] = (),
         **characteristics: Any) -> VariableSpec:
    chars = {"dataType": data_type, "supportsMonitoring": True, **characteristics}
    attributes = (AttributeSpec("Actual", mutability, value), *extra_attributes)
    return VariableSpec(name=name, instance=None, characteristics=chars, attributes=attributes,
                        default=None, required=required)


def _generated_evse(evse_id: int, max_power_w: float, supply_phases: int) -> ComponentSpec:
    # Part 2 "Referenced Components and Variables", 2.13 Charging Infrastructure
    # related: Available, AvailabilityState, SupplyPhases and Power.maxLimit are
    # required on every EVSE; AllowReset and ISO15118EvseId are optional.
    variables = (
        _var("Available", "boolean", "ReadOnly", "true"),
        _var("AvailabilityState", "OptionList", "ReadOnly", "Available", valuesList=_AVAILABILITY_STATES),
        _var("SupplyPhases", "integer", "ReadOnly", str(supply_phases)),
        _var("Power", "decimal", "ReadOnly", "0", unit="W", maxLimit=max_power_w,
             extra_attributes=(AttributeSpec("MaxSet", "ReadOnly", None),)),
        _var("AllowReset", "boolean", "ReadOnly", "false", required=False),
        _var("EvseId", "string", "ReadOnly", None, required=False),
        _var("ISO15118EvseId", "string", "ReadWrite", None, required=False, minLimit=7, maxLimit=37),
    )
    return ComponentSpec(name="EVSE", instance=None, evse_id=evse_id, connector_id=None,
                         variables=variables, source_file=None)


def _generated_connector(evse_id: int, connector_id: int, connector_type: str,
                         supply_phases: int) -> ComponentSpec:
    # 2.13: Available, ConnectorType and SupplyPhases are required on every
    # connector; AvailabilityState may report the connector's own state.
    variables = (
        _var("Available", "boolean", "ReadOnly", "true"),
        _var("AvailabilityState", "OptionList", "ReadOnly", "Available", required=False,
             valuesList=_AVAILABILITY_STATES),
        _var("ConnectorType", "string", "ReadOnly", connector_type),
        _var("SupplyPhases", "integer", "ReadOnly", str(supply_phases)),
    )
    return ComponentSpec(name="Connector", instance=None, evse_id=evse_id, connector_id=connector_id,
                         variables=variables, source_file=None)


RETENTION_LOCK = "ConnectorPlugRetentionLock"


def _generated_retention_lock(evse_id: int, connector_id: int) -> ComponentSpec:
    # Every connector of the station (simulated or real) has a lock that the Evse drives; G05
    # reports its failure as Problem (TC_G_20 needs the component in the device model).
    variables = (
        _var("Enabled", "boolean", "ReadOnly", "true", required=False),
        _var("Problem", "boolean", "ReadOnly", "false", required=False),
    )
    return ComponentSpec(name=RETENTION_LOCK, instance=None, evse_id=evse_id,
                         connector_id=connector_id, variables=variables, source_file=None)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def load_component_config(
    config_dir: str | os.PathLike,
    connectors_per_evse: Sequence[int],
    *,
    evse_max_power_w: float = DEFAULT_EVSE_MAX_POWER_W,
    connector_type: str = DEFAULT_CONNECTOR_TYPE,
    supply_phases: int = DEFAULT_SUPPLY_PHASES,
    parking_bay_sensor: bool = False,
    signing_meter: bool = False,
) -> list[ComponentSpec]:
    """Read ``config_dir/standardized`` and ``config_dir/custom`` into component specs.

    Args:
        config_dir: folder holding ``standardized/`` and/or ``custom/``.
        connectors_per_evse: connector count of each EVSE, EVSE 1 first
            (``[1, 1]`` = two EVSEs with one connector each).
        evse_max_power_w: ``Power.maxLimit`` of generated EVSE components.
        connector_type: ``ConnectorType`` of generated Connector components.
        supply_phases: ``SupplyPhases`` of generated EVSE/Connector components.
        parking_bay_sensor: the EVSEs have a parking-bay sensor: TxCtrlr.TxStartPoint and
            TxStopPoint also offer ParkingBayOccupancy (part 2 §2.6.6: only values the station
            can act on belong in valuesList).
        signing_meter: the EVSEs' meters sign readings: SampledDataCtrlr and AlignedDataCtrlr
            get SignReadings (ReadWrite, false), which a station whose meters cannot sign
            "SHALL NOT report" (part 2 §2.7), OCPPCommCtrlr gets PublicKeyWithSignedMeterValue,
            and TxStartPoint offers DataSigned (E01.FR.04).

    Returns:
        The components, files first (custom before standardized, each in file
        name order), then the generated EVSE, Connector and ConnectorPlugRetentionLock components
        in id order.

    Raises:
        ComponentConfigError: a file cannot be read or parsed, has a key of the
            wrong type or value, duplicates a component or variable, or names an
            EVSE/connector the station does not have.
    """
    root = Path(config_dir)
    if not root.is_dir():
        raise ComponentConfigError(f"{root}: component config folder does not exist")
    if not (root / STANDARDIZED_DIR).is_dir() and not (root / CUSTOM_DIR).is_dir():
        raise ComponentConfigError(f"{root}: has neither a '{STANDARDIZED_DIR}' nor a '{CUSTOM_DIR}' folder")
    counts = list(connectors_per_evse)
    for index, count in enumerate(counts, start=1):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ComponentConfigError(
                f"connectors_per_evse: EVSE {index} must have 1 or more connectors, not {count!r}")

    custom = _read_folder(root, CUSTOM_DIR)
    standardized = _read_folder(root, STANDARDIZED_DIR)
    custom_idents = {_component_ident(spec) for spec in custom}
    # A custom component replaces a standardized one with the same key (libocpp).
    specs = custom + [spec for spec in standardized if _component_ident(spec) not in custom_idents]

    described_evses: set[int] = set()
    described_connectors: set[tuple[int, int]] = set()
    described_locks: set[tuple[int, int]] = set()
    for spec in specs:
        if spec.evse_id is not None and spec.evse_id > len(counts):
            raise ComponentConfigError(
                f"{spec.source_file}: evse_id: EVSE {spec.evse_id} is not configured "
                f"(the station has {len(counts)} EVSE{'s' if len(counts) != 1 else ''})")
        if spec.connector_id is not None and spec.connector_id > counts[spec.evse_id - 1]:
            raise ComponentConfigError(
                f"{spec.source_file}: connector_id: connector {spec.connector_id} of EVSE {spec.evse_id} "
                f"is not configured (EVSE {spec.evse_id} has {counts[spec.evse_id - 1]} connector"
                f"{'s' if counts[spec.evse_id - 1] != 1 else ''})")
        kind = spec.name.casefold()
        if kind == "evse" and spec.evse_id is not None and spec.connector_id is None:
            described_evses.add(spec.evse_id)
        elif kind == "connector" and spec.connector_id is not None:
            described_connectors.add((spec.evse_id, spec.connector_id))
        elif kind == RETENTION_LOCK.casefold() and spec.connector_id is not None:
            described_locks.add((spec.evse_id, spec.connector_id))

    for evse_id, count in enumerate(counts, start=1):
        if evse_id not in described_evses:
            specs.append(_generated_evse(evse_id, evse_max_power_w, supply_phases))
        for connector_id in range(1, count + 1):
            if (evse_id, connector_id) in described_connectors:
                continue            # a config that describes its connectors describes the rest
            specs.append(_generated_connector(evse_id, connector_id, connector_type, supply_phases))
            if (evse_id, connector_id) not in described_locks:
                specs.append(_generated_retention_lock(evse_id, connector_id))
    if parking_bay_sensor:
        specs = [_with_tx_point(spec, PARKING_BAY, ("TxStartPoint", "TxStopPoint"))
                 if spec.name == "TxCtrlr" else spec for spec in specs]
    if signing_meter:
        specs = [_with_signing_meter(spec) for spec in specs]
    return specs


PARKING_BAY = "ParkingBayOccupancy"
DATA_SIGNED = "DataSigned"
SIGN_READINGS_COMPONENTS = ("SampledDataCtrlr", "AlignedDataCtrlr")
PUBLIC_KEY_POLICIES = "Never,OncePerTransaction,EveryMeterValue"      # part 2 §2.7.17


def _with_signing_meter(spec: ComponentSpec) -> ComponentSpec:
    """``spec`` as a station with signing meters has it (see ``signing_meter``)."""
    if spec.name == "TxCtrlr":
        # Only a start point: DataSigned "has no meaning as a TxStopPoint" (§2.6.6.2).
        return _with_tx_point(spec, DATA_SIGNED, ("TxStartPoint",))
    if (spec.name in SIGN_READINGS_COMPONENTS and spec.evse_id is None
            and all(v.name != "SignReadings" for v in spec.variables)):
        # J01.FR.21 / J02.FR.21; off until the CSMS asks for signed values.
        sign = _var("SignReadings", "boolean", "ReadWrite", "false", required=False)
        return replace(spec, variables=(*spec.variables, sign))
    if (spec.name == "OCPPCommCtrlr" and spec.evse_id is None
            and all(v.name != "PublicKeyWithSignedMeterValue" for v in spec.variables)):
        # Every value can be checked on its own unless the CSMS says it knows the key.
        policy = _var("PublicKeyWithSignedMeterValue", "OptionList", "ReadWrite",
                      "EveryMeterValue", required=False, valuesList=PUBLIC_KEY_POLICIES)
        return replace(spec, variables=(*spec.variables, policy))
    return spec


def _with_tx_point(spec: ComponentSpec, point: str, names: tuple[str, ...]) -> ComponentSpec:
    """The variables ``names`` of ``spec`` (TxStartPoint/TxStopPoint) with ``point`` first in
    their valuesList."""
    variables = []
    for variable in spec.variables:
        characteristics = variable.characteristics
        members = characteristics.get("valuesList", "").split(",")
        if variable.name in names and point not in members:
            values_list = ",".join([point] + [m for m in members if m])
            characteristics = {**characteristics, "valuesList": values_list}
            if characteristics.get("maxLimit") is not None:
                # A MemberList's maxLimit is its longest value: all members.
                characteristics["maxLimit"] = max(characteristics["maxLimit"], len(values_list))
            variable = replace(variable, characteristics=characteristics)
        variables.append(variable)
    return replace(spec, variables=tuple(variables))
