"""The device model as the functional blocks see it.

Theory of operation
-------------------
:class:`DeviceModel` is a plain object (no actor, no clock) over a
:class:`~device_model.store.DeviceModelStore`. On construction it reads the
whole device model once into an in-memory index; every read is then a couple
of dict look-ups. Every write goes to SQLite first and into the index only
when the database accepted it, so a restarted process rebuilds the same state
(STYLE §5 "SQLite is the truth"). There is one writer per database file: the
process that owns the CSMS session; it announces changes to whoever cares.

Requests from the CSMS address variables with the OCPP models (``messages.ocpp201``)::

    ComponentType(name="EVSE", instance="left"?, evse=EVSEType(id=1, connector_id=1?)?)
    VariableType(name="AvailabilityState", instance="x"?)

Look-ups are exact on the key (name, instance, evse id, connector id): a
request without ``instance`` (or with ``""``) addresses the component/variable
without instance (B06.FR.14, B06.FR.15); a request without ``evse`` addresses
the component that has no evse, and ``evse`` without ``connectorId`` the one
without connector. Names and instances compare case-insensitively (ComponentType
and VariableType: "Case Insensitive").

Three kinds of access:

* CSMS requests: :meth:`DeviceModel.get_variable` (B06) and
  :meth:`DeviceModel.set_variable` (B05) return the status enum the response
  needs; :meth:`DeviceModel.report_data` builds the ``ReportDataType`` models
  for GetBaseReport (B07) and GetReport (B08). The component, variable and
  characteristics models of a report are built once per index and reused:
  only the attributes (their values change) are new for every report.
* Station reads: :meth:`DeviceModel.get` and the typed ``get_int``/``get_bool``/
  ``get_float`` (WriteOnly values readable, unknown variables give the default).
* Station writes: :meth:`DeviceModel.set_internal` (e.g. AvailabilityState),
  which bypasses mutability and limits: an Actual value reports what *is*
  (part 1, 4.3: actual values are updated without checking limits).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Iterable, Sequence

from device_model.loader import ATTRIBUTE_TYPES, ComponentSpec, check_value, load_component_config
from device_model.store import (
    SOURCE_CSMS,
    SOURCE_INTERNAL,
    AttributeRecord,
    ComponentRecord,
    DeviceModelStore,
    VariableRecord,
)
from messages.ocpp201 import (
    AttributeEnumType,
    ComponentCriterionEnumType,
    ComponentType,
    ComponentVariableType,
    EVSEType,
    GetVariableStatusEnumType,
    MutabilityEnumType,
    ReportBaseEnumType,
    ReportDataType,
    SetVariableStatusEnumType,
    VariableAttributeType,
    VariableCharacteristicsType,
    VariableType,
)

__all__ = ["BASE_REPORTS", "COMPONENT_CRITERIA", "DeviceModel"]

BASE_REPORTS = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
COMPONENT_CRITERIA = ("Active", "Available", "Enabled", "Problem")

# Schema maxima: SetVariableData.attributeValue string[0..1000];
# GetVariableResult.attributeValue / VariableAttributeType.value string[0..2500].
_MAX_SET_VALUE_LENGTH = 1000
_MAX_REPORT_VALUE_LENGTH = 2500

# Interval variables where "0" means "off" even if a minLimit says otherwise
# (part 2: AlignedDataInterval, SampledDataTxUpdatedInterval, ... "A value of
# 0 (numeric zero), by convention, is to be interpreted to mean that no ...
# data should be transmitted").
_ZERO_MEANS_OFF = frozenset({
    ("aligneddatactrlr", "interval"),
    ("aligneddatactrlr", "txendedinterval"),
    ("sampleddatactrlr", "txupdatedinterval"),
    ("sampleddatactrlr", "txendedinterval"),
})

# What the operator can set (B07.FR.07).
_SETTABLE = (MutabilityEnumType.read_write, MutabilityEnumType.write_only)

# B07.FR.09 / ReportBaseEnumType SummaryInventory: the problem variables
# reported for components in an abnormal state, plus their diagnostics.
_PROBLEM_VARIABLES = ("Problem", "Tripped", "Overload", "Fallback")
_DIAGNOSTIC_VARIABLES = ("TechCode", "TechInfo")

_ComponentKey = tuple  # (name.casefold(), instance.casefold() | None, evse_id, connector_id)
_VariableKey = tuple   # (name.casefold(), instance.casefold() | None)


def _fold(text: str | None) -> str | None:
    # "" counts as no instance (B06.FR.15).
    return text.casefold() if text else None


def _ocpp_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored in the device model")
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise TypeError(f"device-model values are str, bool, int or float, not {type(value).__name__}")


class _Component:
    """Index entry: a component record and its variables by folded key, plus the OCPP models
    of the component and its variables once a report has needed them."""

    __slots__ = ("record", "variables", "ordered", "_typed", "_typed_variables")

    def __init__(self, record: ComponentRecord) -> None:
        self.record = record
        self.ordered: list[VariableRecord] = sorted(
            record.variables, key=lambda v: (v.name.casefold(), _fold(v.instance) or ""))
        self.variables: dict[_VariableKey, VariableRecord] = {
            (v.name.casefold(), _fold(v.instance)): v for v in self.ordered}
        # Built on first use: the station's own reads never need them.
        self._typed: ComponentType | None = None
        self._typed_variables: dict[int, tuple[VariableType, VariableCharacteristicsType]] = {}

    def actual(self, variable_name: str) -> str | None:
        """Actual value of the component's variable without instance, or None."""
        variable = self.variables.get((variable_name.casefold(), None))
        if variable is None:
            return None
        attribute = variable.attributes.get("Actual")
        return attribute.value if attribute is not None else None

    def typed(self) -> ComponentType:
        """The component as a report names it (no instance when it has none or "")."""
        if self._typed is None:
            record = self.record
            evse = None if record.evse_id is None else EVSEType(id=record.evse_id,
                                                                 connector_id=record.connector_id)
            self._typed = ComponentType(name=record.name, instance=record.instance or None,
                                        evse=evse)
        return self._typed

    def typed_variable(self, variable: VariableRecord) -> tuple[VariableType,
                                                                VariableCharacteristicsType]:
        """A variable's name and characteristics as a report gives them. Both only change
        with the component config, which rebuilds the index (:meth:`DeviceModel.reload`)."""
        typed = self._typed_variables.get(variable.id)
        if typed is None:
            typed = (VariableType(name=variable.name, instance=variable.instance or None),
                     VariableCharacteristicsType.model_validate(variable.characteristics))
            self._typed_variables[variable.id] = typed
        return typed


class DeviceModel:
    """Read/write view of the device model, backed by SQLite, cached in memory.

    Args:
        store: the device-model store; the index is loaded from it once.
    """

    def __init__(self, store: DeviceModelStore) -> None:
        self.store = store
        # Variables whose Actual value is measured when read, not stored (e.g. the clock).
        self._providers: dict[tuple[str, str], Callable[[], str]] = {}
        self._components: dict[_ComponentKey, _Component] = {}
        self._ordered: list[_Component] = []
        self.reload()

    @classmethod
    def open(
        cls,
        db_path: str | os.PathLike,
        migrations_dir: str | os.PathLike,
        config_dir: str | os.PathLike,
        connectors_per_evse: Sequence[int],
        **loader_options: Any,
    ) -> "DeviceModel":
        """Load the component config, open/migrate the database, seed it, index it.

        Args:
            db_path: the device-model database file (``":memory:"`` for tests).
            migrations_dir: ``migrations/device_model``.
            config_dir: folder with ``standardized/`` and ``custom/`` component JSON.
            connectors_per_evse: connector count per EVSE, EVSE 1 first.
            **loader_options: passed to :func:`~device_model.loader.load_component_config`.

        Raises:
            ComponentConfigError: the component config is unusable (raised
                before the database is touched).
        """
        # Imported on use: the rest of the device model works on any engine,
        # and tests can substitute the module.
        from storage.database import open_database

        specs = load_component_config(config_dir, connectors_per_evse, **loader_options)
        store = DeviceModelStore(open_database(db_path, migrations_dir))
        store.seed(specs)
        return cls(store)

    @classmethod
    def from_specs(cls, store: DeviceModelStore, specs: Iterable[ComponentSpec]) -> "DeviceModel":
        """Seed ``store`` with ``specs`` and index it (tests, config reload)."""
        store.seed(specs)
        return cls(store)

    def provide(self, component_name: str, variable_name: str, read: Callable[[], str]) -> None:
        """Answer reads of ``component.variable`` (Actual, any instance) with ``read()``.

        For values that change by themselves, such as ClockCtrlr.DateTime: storing them would
        be wrong the moment after, and writing them every second would be waste.
        """
        self._providers[(component_name.casefold(), variable_name.casefold())] = read

    def _actual_value(self, component: "_Component", variable: VariableRecord,
                      attribute: AttributeRecord) -> str | None:
        if attribute.type == "Actual":
            read = self._providers.get((component.record.name.casefold(), variable.name.casefold()))
            if read is not None:
                return read()
        return attribute.value

    def close(self) -> None:
        """Release the database connections (the cache stays readable)."""
        self.store.engine.dispose()

    def reload(self) -> None:
        """Rebuild the in-memory index from the database."""
        components = [_Component(record) for record in self.store.load()]
        components.sort(key=lambda c: (c.record.name.casefold(), c.record.evse_id or 0,
                                       c.record.connector_id or 0, _fold(c.record.instance) or ""))
        self._ordered = components
        self._components = {
            (c.record.name.casefold(), _fold(c.record.instance), c.record.evse_id, c.record.connector_id): c
            for c in components}

    # -- look-ups ----------------------------------------------------------

    def _component(self, name: str, instance: str | None, evse_id: int | None,
                   connector_id: int | None) -> _Component | None:
        if not isinstance(name, str):
            return None
        return self._components.get((name.casefold(), _fold(instance), evse_id, connector_id))

    def _requested_component(self, component: ComponentType) -> _Component | None:
        evse = component.evse
        if evse is None:
            return self._component(component.name, component.instance, None, None)
        return self._component(component.name, component.instance, evse.id, evse.connector_id)

    @staticmethod
    def _variable(component: _Component, name: Any, instance: str | None) -> VariableRecord | None:
        if not isinstance(name, str):
            return None
        return component.variables.get((name.casefold(), _fold(instance)))

    def _resolve(self, component_name: str, variable_name: str, instance: str | None,
                 component_instance: str | None, evse_id: int | None, connector_id: int | None,
                 attribute_type: str) -> AttributeRecord | None:
        component = self._component(component_name, component_instance, evse_id, connector_id)
        if component is None:
            return None
        variable = self._variable(component, variable_name, instance)
        if variable is None:
            return None
        return variable.attributes.get(attribute_type)

    def _size_limit(self, specific: str, schema_max: int) -> int:
        # DeviceDataCtrlr.<specific> (ConfigurationValueSize / ReportingValueSize),
        # else ValueSize, never above the schema's maxLength.
        for name in (specific, "ValueSize"):
            limit = self.get_int("DeviceDataCtrlr", name)
            if limit is not None and limit > 0:
                return min(limit, schema_max)
        return schema_max

    # -- B06 GetVariables --------------------------------------------------

    def get_variable(self, component: ComponentType, variable: VariableType,
                     attribute_type: AttributeEnumType | None = AttributeEnumType.actual,
                     ) -> tuple[GetVariableStatusEnumType, str | None]:
        """Answer one GetVariableData element.

        Args:
            component: the requested component.
            variable: the requested variable.
            attribute_type: None means Actual (B06.FR.11).

        Returns:
            (status, attributeValue or None when it must be omitted).
        """
        found = self._requested_component(component)
        if found is None:
            return GetVariableStatusEnumType.unknown_component, None  # B06.FR.06, B06.FR.15
        record = self._variable(found, variable.name, variable.instance)
        if record is None:
            return GetVariableStatusEnumType.unknown_variable, None  # B06.FR.07, B06.FR.15
        attribute = record.attributes.get(attribute_type or AttributeEnumType.actual)
        if attribute is None:
            return GetVariableStatusEnumType.not_supported_attribute_type, None  # B06.FR.08
        if attribute.mutability == MutabilityEnumType.write_only:
            return GetVariableStatusEnumType.rejected, None  # B06.FR.09
        value = self._actual_value(found, record, attribute)
        value = value if value is not None else ""  # B06.FR.13
        return (GetVariableStatusEnumType.accepted,
                value[: self._size_limit("ReportingValueSize", _MAX_REPORT_VALUE_LENGTH)])  # B06.FR.10

    # -- B05 SetVariables --------------------------------------------------

    def set_variable(self, component: ComponentType, variable: VariableType,
                     attribute_type: AttributeEnumType | None, value: str,
                     *, source: str = SOURCE_CSMS) -> SetVariableStatusEnumType:
        """Apply one SetVariableData element; persist before answering Accepted.

        Returns:
            Accepted, Rejected, UnknownComponent, UnknownVariable or
            NotSupportedAttributeType.
        """
        return self.set_variable_with_reason(component, variable, attribute_type, value, source=source)[0]

    def set_variable_with_reason(self, component: ComponentType, variable: VariableType,
                                 attribute_type: AttributeEnumType | None, value: str,
                                 *, source: str = SOURCE_CSMS,
                                 ) -> tuple[SetVariableStatusEnumType, str | None]:
        """Like :meth:`set_variable`, plus a reason for statusInfo.additionalInfo when not Accepted."""
        rejected = SetVariableStatusEnumType.rejected
        found = self._requested_component(component)
        if found is None:
            return SetVariableStatusEnumType.unknown_component, "unknown component"  # B05.FR.04
        record = self._variable(found, variable.name, variable.instance)
        if record is None:
            return SetVariableStatusEnumType.unknown_variable, "unknown variable"  # B05.FR.05
        attr_type = attribute_type or AttributeEnumType.actual  # B05.FR.12
        attribute = record.attributes.get(attr_type)
        if attribute is None:
            return (SetVariableStatusEnumType.not_supported_attribute_type,
                    f"no {attr_type} attribute")  # B05.FR.06
        if attribute.mutability == MutabilityEnumType.read_only:
            return rejected, "read-only"  # B05.FR.09
        if not isinstance(value, str):
            return rejected, "value is not a string"  # B05.FR.07
        max_length = self._size_limit("ConfigurationValueSize", _MAX_SET_VALUE_LENGTH)
        if len(value) > max_length:
            return rejected, f"longer than {max_length} characters"  # B05.FR.07
        allow_zero = (found.record.name.casefold(), record.name.casefold()) in _ZERO_MEANS_OFF
        reason = check_value(record.characteristics, value, allow_zero=allow_zero)  # B05.FR.07, B05.FR.08
        if reason is None and attr_type == AttributeEnumType.target:
            reason = self._outside_set_range(record, value)  # B05.FR.08
        if reason is None and record.name.casefold() == "enabled" and value == "true":
            reason = self._not_available(found, record)
        if reason is not None:
            return rejected, reason
        self.store.set_value(attribute.id, value, source)  # persist first ...
        attribute.value = value  # ... then the cache
        attribute.value_source = source
        return SetVariableStatusEnumType.accepted, None  # B05.FR.10

    def _not_available(self, component: _Component, enabled: VariableRecord) -> str | None:
        # Part 2, Available: "the Component exists and is locally configured/wired for use, but
        # may not be (remotely) Enabled". A component the station does not implement ships
        # Available false; enabling it would make the report claim what the station cannot do.
        available = self._variable(component, "Available", enabled.instance)
        actual = available.attributes.get("Actual") if available is not None else None
        if actual is not None and actual.value == "false":
            return "the component is not available on this station"
        return None

    @staticmethod
    def _outside_set_range(record: VariableRecord, value: str) -> str | None:
        # Part 1, 4.3: a Target outside the configured MinSet..MaxSet is refused.
        if record.characteristics.get("dataType") not in ("integer", "decimal"):
            return None
        number = float(value)
        for bound_type, outside in (("MinSet", lambda b: number < b), ("MaxSet", lambda b: number > b)):
            bound = record.attributes.get(bound_type)
            if bound is None or not bound.value:
                continue
            try:
                if outside(float(bound.value)):
                    return f"{value} is outside {bound_type} {bound.value}"
            except ValueError:
                continue
        return None

    # -- station reads -------------------------------------------------------

    def get(self, component_name: str, variable_name: str, *, instance: str | None = None,
            component_instance: str | None = None, evse_id: int | None = None,
            connector_id: int | None = None, attribute_type: str = "Actual") -> str | None:
        """The station's own read (WriteOnly values included).

        Args:
            component_name: e.g. "OCPPCommCtrlr".
            variable_name: e.g. "MessageTimeout".
            instance: the *variable* instance, e.g. "Default".
            component_instance: the component instance.
            evse_id / connector_id: the component's tier.
            attribute_type: Actual, Target, MinSet or MaxSet.

        Returns:
            The value, or None when the variable/attribute does not exist or is unset.
        """
        attribute = self._resolve(component_name, variable_name, instance, component_instance,
                                  evse_id, connector_id, attribute_type)
        if attribute is None:
            return None
        read = self._providers.get((component_name.casefold(), variable_name.casefold()))
        return read() if read is not None and attribute.type == "Actual" else attribute.value

    def get_int(self, component_name: str, variable_name: str, *, default: int | None = None,
                **address: Any) -> int | None:
        """:meth:`get` as int; ``default`` when missing, unset or not an integer."""
        value = self.get(component_name, variable_name, **address)
        try:
            return int(value.strip()) if value is not None else default
        except ValueError:
            return default

    def get_float(self, component_name: str, variable_name: str, *, default: float | None = None,
                  **address: Any) -> float | None:
        """:meth:`get` as float; ``default`` when missing, unset or not a number."""
        value = self.get(component_name, variable_name, **address)
        try:
            number = float(value) if value is not None else None
        except ValueError:
            return default
        return number if number is not None and math.isfinite(number) else default

    def get_bool(self, component_name: str, variable_name: str, *, default: bool | None = None,
                 **address: Any) -> bool | None:
        """:meth:`get` as bool ("true"/"false", any case); ``default`` otherwise."""
        value = self.get(component_name, variable_name, **address)
        if value is None:
            return default
        folded = value.strip().lower()
        if folded == "true":
            return True
        if folded == "false":
            return False
        return default

    def characteristic(self, component_name: str, variable_name: str, name: str) -> Any:
        """A variable's characteristic by its wire name (e.g. "maxLimit") at the station tier,
        or None. The AuthCache's storage bounds are the maxLimit of the Storage variables."""
        component = self._component(component_name, None, None, None)
        variable = self._variable(component, variable_name, None) if component else None
        return None if variable is None else variable.characteristics.get(name)

    def has_variable(self, component_name: str, variable_name: str, *, instance: str | None = None,
                     component_instance: str | None = None, evse_id: int | None = None,
                     connector_id: int | None = None, attribute_type: str = "Actual") -> bool:
        """Whether the component has this variable with this attribute type."""
        return self._resolve(component_name, variable_name, instance, component_instance,
                             evse_id, connector_id, attribute_type) is not None

    # -- station writes ------------------------------------------------------

    def max_limit(self, component_name: str, variable_name: str, *, instance: str | None = None,
                  evse_id: int | None = None, default: int | None = None) -> int | None:
        """A variable's characteristics maxLimit (e.g. how many of something the station
        holds, SmartChargingCtrlr.Entries(ChargingProfiles)); ``default`` when none is set."""
        component = self._component(component_name, None, evse_id, None)
        variable = self._variable(component, variable_name, instance) if component else None
        value = (variable.characteristics or {}).get("maxLimit") if variable else None
        return default if value is None else int(value)

    def set_internal(self, component_name: str, variable_name: str, value: str | bool | int | float | None,
                     *, instance: str | None = None, component_instance: str | None = None,
                     evse_id: int | None = None, connector_id: int | None = None,
                     attribute_type: str = "Actual") -> bool:
        """The station records a value itself (source 'internal').

        Bypasses mutability and limits. Does not write when the value is unchanged.

        Returns:
            True when the attribute exists (value stored or already equal),
            False when the component/variable/attribute does not exist.
        """
        attribute = self._resolve(component_name, variable_name, instance, component_instance,
                                  evse_id, connector_id, attribute_type)
        if attribute is None:
            return False
        text = None if value is None else _ocpp_text(value)
        if attribute.value == text:
            return True
        self.store.set_value(attribute.id, text, SOURCE_INTERNAL)
        attribute.value = text
        attribute.value_source = SOURCE_INTERNAL
        return True

    # -- B07/B08 reports -------------------------------------------------------

    def report_data(self, base: ReportBaseEnumType | None = None,
                    component_criteria: Sequence[ComponentCriterionEnumType] | None = None,
                    component_variables: Sequence[ComponentVariableType] | None = None,
                    ) -> list[ReportDataType]:
        """Build the reportData for a GetBaseReport or a GetReport.

        Args:
            base: the report base of a GetBaseReport (B07); None for a
                GetReport (B08) filtered by the other two arguments.
            component_criteria: GetReportRequest.component_criteria.
            component_variables: GetReportRequest.component_variable.

        Returns:
            The report's items, components and variables in a stable order.
            ``[]`` means an empty result (GetReport answers EmptyResultSet,
            B08.FR.15). Feed it to ``reports.paginate_report``.

        Raises:
            ValueError: unknown ``base`` or criterion (answer NotSupported,
                B07.FR.02 / B08.FR.02).
        """
        max_length = self._size_limit("ReportingValueSize", _MAX_REPORT_VALUE_LENGTH)
        if base is not None:
            if base not in BASE_REPORTS:
                raise ValueError(f"unsupported reportBase {base!r}")
            if base == ReportBaseEnumType.summary_inventory:
                return self._summary_inventory(max_length)
            configuration_only = base == ReportBaseEnumType.configuration_inventory
            items = []
            for component in self._ordered:
                for variable in component.ordered:
                    attributes = self._attributes(variable)
                    if configuration_only:
                        # B07.FR.07: what the operator can set, i.e. the writable attributes.
                        attributes = [a for a in attributes if a.mutability in _SETTABLE]
                    if attributes:  # B07.FR.08, B07.FR.11: all attribute types, set or not
                        items.append(self._item(component, variable, attributes, max_length))
            return items

        criteria = list(component_criteria or [])
        for criterion in criteria:
            if criterion not in COMPONENT_CRITERIA:
                raise ValueError(f"unsupported componentCriteria {criterion!r}")
        selectors = list(component_variables or [])
        items = []
        for component in self._ordered:
            # B08.FR.05, B08.FR.13: criteria OR-ed, then limited to componentVariable.
            if criteria and not self._meets_criteria(component, criteria):
                continue
            for variable in component.ordered:
                if selectors and not any(_selects(s, component, variable) for s in selectors):
                    continue  # B08.FR.11
                attributes = self._attributes(variable)
                if attributes:
                    items.append(self._item(component, variable, attributes, max_length))  # B08.FR.12
        return items

    @staticmethod
    def _attributes(variable: VariableRecord) -> list[AttributeRecord]:
        return [variable.attributes[t] for t in ATTRIBUTE_TYPES if t in variable.attributes]

    @staticmethod
    def _meets_criteria(component: _Component, criteria: list[ComponentCriterionEnumType]) -> bool:
        for criterion in criteria:
            # Every instance counts: TariffCostCtrlr has Enabled/Available only per instance
            # (Tariff, Cost), and lacks neither variable.
            values = [v.attributes["Actual"].value for (name, _), v in component.variables.items()
                      if name == criterion.casefold() and "Actual" in v.attributes]
            if criterion == ComponentCriterionEnumType.problem:
                if "true" in values:
                    return True  # B08.FR.10
            elif not values or "true" in values:
                # B08.FR.07-09: set to true, or the component lacks the variable.
                return True
        return False

    def _summary_inventory(self, max_length: int) -> list[ReportDataType]:
        # B07.FR.09 / ReportBaseEnumType SummaryInventory.
        items = []
        for component in self._ordered:
            record = component.record
            name = record.name.casefold()
            chosen: list[str] = []
            if name in ("chargingstation", "evse") and record.connector_id is None:
                chosen.append("AvailabilityState")
            elif name == "connector":
                # "AvailabilityState (if known and different from EVSE)".
                own = component.actual("AvailabilityState")
                evse = self._component("EVSE", None, record.evse_id, None)
                if own and (evse is None or evse.actual("AvailabilityState") != own):
                    chosen.append("AvailabilityState")
            problems = [v for v in _PROBLEM_VARIABLES if component.actual(v) == "true"]
            if problems:
                chosen.extend(problems)
                chosen.extend(_DIAGNOSTIC_VARIABLES)  # "Include TechCode and TechInfo where available"
            for variable_name in chosen:
                variable = component.variables.get((variable_name.casefold(), None))
                actual = (None if variable is None else
                          variable.attributes.get(AttributeEnumType.actual))
                if actual is not None:
                    items.append(self._item(component, variable, [actual], max_length))
        return items

    def _item(self, component: _Component, variable: VariableRecord,
              attributes: list[AttributeRecord], max_length: int) -> ReportDataType:
        variable_type, characteristics = component.typed_variable(variable)
        return ReportDataType(
            component=component.typed(),
            variable=variable_type,
            variable_attribute=tuple(
                VariableAttributeType(
                    type=attribute.type,
                    # B07.FR.03/B08.FR.03 (errata 2025-01): never the value of a WriteOnly
                    # attribute. VariableAttributeType: value "may only be omitted when
                    # mutability is WriteOnly", so unset is "".
                    value=(None if attribute.mutability == MutabilityEnumType.write_only else
                           (self._actual_value(component, variable, attribute) or "")[:max_length]),
                    mutability=attribute.mutability,
                    persistent=attribute.persistent,
                    constant=attribute.constant)
                for attribute in attributes),
            variable_characteristics=characteristics,  # B07.FR.07/08, B08.FR.12
        )


def _selects(selector: ComponentVariableType, component: _Component, variable: VariableRecord) -> bool:
    """Whether a GetReport componentVariable selects this component variable."""
    wanted = selector.component
    record = component.record
    if wanted.name.casefold() != record.name.casefold():
        return False
    # B08.FR.24/25: an instance selects that instance; none selects every
    # instance and the component without one.
    instance = _fold(wanted.instance)
    if instance is not None and instance != _fold(record.instance):
        return False
    evse = wanted.evse
    if evse is not None:
        if record.evse_id != evse.id:
            return False
        # B08.FR.22: evse.id without connectorId selects every connector of
        # that EVSE (and the EVSE-tier component).
        if evse.connector_id is not None and record.connector_id != evse.connector_id:
            return False
    # B08.FR.23: no evse selects every tier, top level included.
    wanted_variable = selector.variable
    if wanted_variable is None:
        return True  # B08.FR.20
    if wanted_variable.name.casefold() != variable.name.casefold():
        return False
    variable_instance = _fold(wanted_variable.instance)
    # B08.FR.21: no variable instance selects every instance.
    return variable_instance is None or variable_instance == _fold(variable.instance)
