"""SQLite storage of the device model, in libocpp's device-model tables.

Theory of operation
-------------------
The tables are created by ``migrations/device_model/*.sql`` (applied by
``storage.migrate``); this module only reads and writes rows. The layout is
libocpp's, so database files are interchangeable:

* ``COMPONENT`` (name, instance, evse, connector) 1..n ``VARIABLE`` (name,
  instance, source) each with one ``VARIABLE_CHARACTERISTICS`` row and one
  ``VARIABLE_ATTRIBUTE`` row per attribute type (Actual/Target/MinSet/MaxSet),
  plus ``VARIABLE_MONITORING`` rows.
* Enumerations are stored as ids: the position of the value in the OCPP enum
  (``MUTABILITY``, ``DATATYPE``, ``VARIABLE_ATTRIBUTE_TYPE``, ``MONITOR``,
  ``MONITOR_CONFIG_TYPE`` hold the names).
* ``VARIABLE_ATTRIBUTE.VALUE_SOURCE`` records who wrote the value:
  ``default`` (the component config), ``internal`` (the station) or ``csms``.

Seeding (:meth:`DeviceModelStore.seed`) makes the database match the component
config, in one transaction, the way libocpp's ``InitDeviceModelDb`` does:
components, variables and attributes the config no longer has are deleted, new
ones inserted, changed characteristics/mutability updated. A value is only
(re)written from the config while its source is still ``default`` (or empty):
what the CSMS or the station set survives restarts and config reloads.

Reads for normal operation come from :meth:`DeviceModelStore.load`, once, into
the in-memory index of ``device_model.model.DeviceModel``; writes go through
:meth:`DeviceModelStore.set_value` first and into the cache after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import sqlalchemy as sa

from device_model.loader import (
    ATTRIBUTE_TYPES,
    DATA_TYPES,
    MONITOR_CONFIG_TYPES,
    MONITOR_TYPES,
    MUTABILITIES,
    ComponentSpec,
    MonitorSpec,
    VariableSpec,
)

__all__ = [
    "SOURCE_CSMS",
    "SOURCE_DEFAULT",
    "SOURCE_INTERNAL",
    "AttributeRecord",
    "ComponentRecord",
    "DeviceModelStore",
    "MonitorRecord",
    "VariableRecord",
]

#: VARIABLE_ATTRIBUTE.VALUE_SOURCE values (libocpp's constants).
SOURCE_DEFAULT = "default"
SOURCE_INTERNAL = "internal"
SOURCE_CSMS = "csms"

# Sources a config reload may overwrite (libocpp: 'default', '' or NULL).
_CONFIG_OWNED_SOURCES = (SOURCE_DEFAULT, "", None)

_metadata = sa.MetaData()

COMPONENT = sa.Table(
    "COMPONENT", _metadata,
    sa.Column("ID", sa.Integer, primary_key=True),
    sa.Column("NAME", sa.Text),
    sa.Column("INSTANCE", sa.Text),
    sa.Column("EVSE_ID", sa.Integer),
    sa.Column("CONNECTOR_ID", sa.Integer),
)
VARIABLE = sa.Table(
    "VARIABLE", _metadata,
    sa.Column("ID", sa.Integer, primary_key=True),
    sa.Column("NAME", sa.Text),
    sa.Column("INSTANCE", sa.Text),
    sa.Column("COMPONENT_ID", sa.Integer, nullable=False),
    sa.Column("SOURCE", sa.Text),
)
VARIABLE_CHARACTERISTICS = sa.Table(
    "VARIABLE_CHARACTERISTICS", _metadata,
    sa.Column("ID", sa.Integer, primary_key=True),
    sa.Column("DATATYPE_ID", sa.Integer, nullable=False),
    sa.Column("VARIABLE_ID", sa.Integer, nullable=False),
    sa.Column("MAX_LIMIT", sa.Float),
    sa.Column("MIN_LIMIT", sa.Float),
    sa.Column("SUPPORTS_MONITORING", sa.Integer),
    sa.Column("UNIT", sa.Text),
    sa.Column("VALUES_LIST", sa.Text),
)
VARIABLE_ATTRIBUTE = sa.Table(
    "VARIABLE_ATTRIBUTE", _metadata,
    sa.Column("ID", sa.Integer, primary_key=True),
    sa.Column("VARIABLE_ID", sa.Integer, nullable=False),
    sa.Column("MUTABILITY_ID", sa.Integer),
    sa.Column("PERSISTENT", sa.Integer),
    sa.Column("CONSTANT", sa.Integer),
    sa.Column("TYPE_ID", sa.Integer),
    sa.Column("VALUE_SOURCE", sa.Text),
    sa.Column("VALUE", sa.Text, quote=True),
)
VARIABLE_MONITORING = sa.Table(
    "VARIABLE_MONITORING", _metadata,
    sa.Column("ID", sa.Integer, primary_key=True),
    sa.Column("VARIABLE_ID", sa.Integer, nullable=False),
    sa.Column("SEVERITY", sa.Integer),
    sa.Column("TRANSACTION", sa.Integer, quote=True),
    sa.Column("TYPE_ID", sa.Integer, nullable=False),
    sa.Column("CONFIG_TYPE_ID", sa.Integer),
    sa.Column("VALUE", sa.Float, quote=True),
    sa.Column("REFERENCE_VALUE", sa.Text),
)


@dataclass
class AttributeRecord:
    """A VARIABLE_ATTRIBUTE row. ``value``/``value_source`` change at run time."""

    id: int
    type: str
    mutability: str
    persistent: bool
    constant: bool
    value: str | None
    value_source: str | None


@dataclass
class MonitorRecord:
    """A VARIABLE_MONITORING row."""

    id: int
    type: str
    severity: int
    value: float
    transaction: bool
    config_type: str
    reference_value: str | None


@dataclass
class VariableRecord:
    """A VARIABLE row with its characteristics (wire names) and attributes by type."""

    id: int
    name: str
    instance: str | None
    characteristics: dict
    attributes: dict[str, AttributeRecord]
    source: str | None = None
    characteristics_id: int | None = None
    monitors: list[MonitorRecord] = field(default_factory=list)


@dataclass
class ComponentRecord:
    """A COMPONENT row with its variables."""

    id: int
    name: str
    instance: str | None
    evse_id: int | None
    connector_id: int | None
    variables: list[VariableRecord] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | None, int | None, int | None]:
        return (self.name, self.instance, self.evse_id, self.connector_id)


def _enum_name(names: Sequence[str], index: int | None, default: str) -> str:
    if index is None or not 0 <= index < len(names):
        return default
    return names[index]


def _limit(value: float | None) -> float | int | None:
    # Limits are REAL in the database; give integral limits back as int so
    # reports show "maxLimit": 22000 rather than 22000.0.
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


class DeviceModelStore:
    """Rows of the device-model database (one writer per database file).

    Args:
        engine: an engine on a database migrated with ``migrations/device_model``
            (``storage.database.open_database``).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # -- reading -----------------------------------------------------------

    def load(self) -> list[ComponentRecord]:
        """Read the whole device model (a handful of queries, no joins per row)."""
        with self.engine.connect() as conn:
            return self._load(conn)

    def _load(self, conn: sa.Connection) -> list[ComponentRecord]:
        components: dict[int, ComponentRecord] = {}
        for row in conn.execute(sa.select(COMPONENT).order_by(COMPONENT.c.ID)):
            components[row.ID] = ComponentRecord(
                id=row.ID, name=row.NAME or "", instance=row.INSTANCE or None,
                evse_id=row.EVSE_ID, connector_id=row.CONNECTOR_ID)
        variables: dict[int, VariableRecord] = {}
        for row in conn.execute(sa.select(VARIABLE).order_by(VARIABLE.c.ID)):
            component = components.get(row.COMPONENT_ID)
            if component is None:
                continue  # orphan left by a database without foreign keys
            variable = VariableRecord(
                id=row.ID, name=row.NAME or "", instance=row.INSTANCE or None,
                characteristics={"dataType": "string", "supportsMonitoring": False},
                attributes={}, source=row.SOURCE)
            variables[row.ID] = variable
            component.variables.append(variable)
        for row in conn.execute(sa.select(VARIABLE_CHARACTERISTICS).order_by(VARIABLE_CHARACTERISTICS.c.ID)):
            variable = variables.get(row.VARIABLE_ID)
            if variable is None:
                continue
            chars: dict = {
                "dataType": _enum_name(DATA_TYPES, row.DATATYPE_ID, "string"),
                "supportsMonitoring": bool(row.SUPPORTS_MONITORING),
            }
            if row.UNIT is not None:
                chars["unit"] = row.UNIT
            if row.MIN_LIMIT is not None:
                chars["minLimit"] = _limit(row.MIN_LIMIT)
            if row.MAX_LIMIT is not None:
                chars["maxLimit"] = _limit(row.MAX_LIMIT)
            if row.VALUES_LIST is not None:
                chars["valuesList"] = row.VALUES_LIST
            variable.characteristics = chars
            variable.characteristics_id = row.ID
        for row in conn.execute(sa.select(VARIABLE_ATTRIBUTE).order_by(VARIABLE_ATTRIBUTE.c.ID)):
            variable = variables.get(row.VARIABLE_ID)
            if variable is None:
                continue
            # NULLs as written by libocpp for unset fields: the spec defaults
            # (VariableAttributeType: type Actual, mutability ReadWrite,
            # persistent/constant false).
            attr_type = _enum_name(ATTRIBUTE_TYPES, row.TYPE_ID, "Actual")
            variable.attributes[attr_type] = AttributeRecord(
                id=row.ID, type=attr_type,
                mutability=_enum_name(MUTABILITIES, row.MUTABILITY_ID, "ReadWrite"),
                persistent=bool(row.PERSISTENT), constant=bool(row.CONSTANT),
                value=row.VALUE, value_source=row.VALUE_SOURCE)
        for row in conn.execute(sa.select(VARIABLE_MONITORING).order_by(VARIABLE_MONITORING.c.ID)):
            variable = variables.get(row.VARIABLE_ID)
            if variable is None:
                continue
            variable.monitors.append(MonitorRecord(
                id=row.ID, type=_enum_name(MONITOR_TYPES, row.TYPE_ID, "Delta"),
                severity=row.SEVERITY if row.SEVERITY is not None else 9,
                value=float(row.VALUE or 0.0), transaction=bool(row.TRANSACTION),
                config_type=_enum_name(MONITOR_CONFIG_TYPES, row.CONFIG_TYPE_ID, "CustomMonitor"),
                reference_value=row.REFERENCE_VALUE))
        return list(components.values())

    # -- writing -----------------------------------------------------------

    def set_value(self, attribute_id: int, value: str | None, source: str) -> None:
        """Persist one attribute value and who set it.

        Raises:
            LookupError: no attribute row with this id (the cache is stale).
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(VARIABLE_ATTRIBUTE)
                .where(VARIABLE_ATTRIBUTE.c.ID == attribute_id)
                .values(VALUE=value, VALUE_SOURCE=source))
            if result.rowcount != 1:
                raise LookupError(f"no VARIABLE_ATTRIBUTE row with ID {attribute_id}")

    def seed(self, specs: Iterable[ComponentSpec]) -> None:
        """Make the database match the component config (one transaction).

        Values the CSMS or the station wrote (source not ``default``) are kept;
        config values only seed defaults.
        """
        specs = list(specs)
        with self.engine.begin() as conn:
            existing: dict[tuple, ComponentRecord] = {}
            for record in self._load(conn):
                if record.key in existing:
                    self._delete_component(conn, record)  # duplicate key: keep the first
                else:
                    existing[record.key] = record
            wanted = {spec.key for spec in specs}
            for key, record in existing.items():
                if key not in wanted:
                    self._delete_component(conn, record)
            for spec in specs:
                record = existing.get(spec.key)
                if record is None:
                    self._insert_component(conn, spec)
                else:
                    self._update_component(conn, record, spec)

    # -- seeding helpers ---------------------------------------------------

    def _delete_variables(self, conn: sa.Connection, variable_ids: list[int]) -> None:
        # Children first and explicitly: do not rely on PRAGMA foreign_keys.
        if not variable_ids:
            return
        for table in (VARIABLE_MONITORING, VARIABLE_ATTRIBUTE, VARIABLE_CHARACTERISTICS):
            conn.execute(sa.delete(table).where(table.c.VARIABLE_ID.in_(variable_ids)))
        conn.execute(sa.delete(VARIABLE).where(VARIABLE.c.ID.in_(variable_ids)))

    def _delete_component(self, conn: sa.Connection, record: ComponentRecord) -> None:
        self._delete_variables(conn, [v.id for v in record.variables])
        conn.execute(sa.delete(COMPONENT).where(COMPONENT.c.ID == record.id))

    def _insert_component(self, conn: sa.Connection, spec: ComponentSpec) -> None:
        result = conn.execute(sa.insert(COMPONENT).values(
            NAME=spec.name, INSTANCE=spec.instance, EVSE_ID=spec.evse_id, CONNECTOR_ID=spec.connector_id))
        component_id = result.inserted_primary_key[0]
        for variable in spec.variables:
            self._insert_variable(conn, component_id, variable)

    def _insert_variable(self, conn: sa.Connection, component_id: int, spec: VariableSpec) -> None:
        result = conn.execute(sa.insert(VARIABLE).values(
            NAME=spec.name, INSTANCE=spec.instance, COMPONENT_ID=component_id, SOURCE=spec.source))
        variable_id = result.inserted_primary_key[0]
        conn.execute(sa.insert(VARIABLE_CHARACTERISTICS), [self._characteristics_row(variable_id, spec)])
        conn.execute(sa.insert(VARIABLE_ATTRIBUTE), [
            {
                "VARIABLE_ID": variable_id,
                "MUTABILITY_ID": MUTABILITIES.index(attribute.mutability),
                "PERSISTENT": int(attribute.persistent),
                "CONSTANT": int(attribute.constant),
                "TYPE_ID": ATTRIBUTE_TYPES.index(attribute.type),
                "VALUE_SOURCE": SOURCE_DEFAULT,
                "VALUE": spec.seed_value(attribute),
            }
            for attribute in spec.attributes
        ])
        self._insert_monitors(conn, variable_id, spec)

    @staticmethod
    def _characteristics_row(variable_id: int, spec: VariableSpec) -> dict:
        chars = spec.characteristics
        return {
            "DATATYPE_ID": DATA_TYPES.index(chars["dataType"]),
            "VARIABLE_ID": variable_id,
            "MAX_LIMIT": chars.get("maxLimit"),
            "MIN_LIMIT": chars.get("minLimit"),
            "SUPPORTS_MONITORING": int(bool(chars.get("supportsMonitoring"))),
            "UNIT": chars.get("unit"),
            "VALUES_LIST": chars.get("valuesList"),
        }

    @staticmethod
    def _monitor_reference(spec: VariableSpec, monitor: MonitorSpec) -> str | None:
        # A Delta monitor measures change from the value when it was set
        # (part 1, 4.4); without an explicit reference use the seeded Actual.
        if monitor.reference_value is not None or monitor.type != "Delta":
            return monitor.reference_value
        actual = next((a for a in spec.attributes if a.type == "Actual"), None)
        return (spec.seed_value(actual) if actual else None) or ""

    def _insert_monitors(self, conn: sa.Connection, variable_id: int, spec: VariableSpec) -> None:
        if not spec.monitors:
            return
        conn.execute(sa.insert(VARIABLE_MONITORING), [
            {
                "VARIABLE_ID": variable_id,
                "SEVERITY": monitor.severity,
                "TRANSACTION": int(monitor.transaction),
                "TYPE_ID": MONITOR_TYPES.index(monitor.type),
                "CONFIG_TYPE_ID": MONITOR_CONFIG_TYPES.index(monitor.config_type),
                "VALUE": monitor.value,
                "REFERENCE_VALUE": self._monitor_reference(spec, monitor),
            }
            for monitor in spec.monitors
        ])

    def _update_component(self, conn: sa.Connection, record: ComponentRecord, spec: ComponentSpec) -> None:
        by_key: dict[tuple, VariableRecord] = {}
        stale: list[int] = []
        for variable in record.variables:
            key = (variable.name, variable.instance)
            if key in by_key:
                stale.append(variable.id)
            else:
                by_key[key] = variable
        wanted = {(v.name, v.instance) for v in spec.variables}
        stale.extend(v.id for key, v in by_key.items() if key not in wanted)
        self._delete_variables(conn, stale)
        for variable_spec in spec.variables:
            existing = by_key.get((variable_spec.name, variable_spec.instance))
            if existing is None:
                self._insert_variable(conn, record.id, variable_spec)
            else:
                self._update_variable(conn, existing, variable_spec)

    def _update_variable(self, conn: sa.Connection, record: VariableRecord, spec: VariableSpec) -> None:
        if record.source != spec.source:
            conn.execute(sa.update(VARIABLE).where(VARIABLE.c.ID == record.id).values(SOURCE=spec.source))
        wanted_chars = self._characteristics_row(record.id, spec)
        if record.characteristics_id is None:
            conn.execute(sa.insert(VARIABLE_CHARACTERISTICS), [wanted_chars])
        elif record.characteristics != _wire_characteristics(spec.characteristics):
            conn.execute(sa.update(VARIABLE_CHARACTERISTICS)
                         .where(VARIABLE_CHARACTERISTICS.c.ID == record.characteristics_id)
                         .values(**wanted_chars))

        wanted_types = {a.type for a in spec.attributes}
        gone = [a.id for t, a in record.attributes.items() if t not in wanted_types]
        if gone:
            conn.execute(sa.delete(VARIABLE_ATTRIBUTE).where(VARIABLE_ATTRIBUTE.c.ID.in_(gone)))
        for attribute in spec.attributes:
            seed = spec.seed_value(attribute)
            current = record.attributes.get(attribute.type)
            if current is None:
                conn.execute(sa.insert(VARIABLE_ATTRIBUTE).values(
                    VARIABLE_ID=record.id, MUTABILITY_ID=MUTABILITIES.index(attribute.mutability),
                    PERSISTENT=int(attribute.persistent), CONSTANT=int(attribute.constant),
                    TYPE_ID=ATTRIBUTE_TYPES.index(attribute.type), VALUE_SOURCE=SOURCE_DEFAULT, VALUE=seed))
                continue
            changes: dict = {}
            if (current.mutability, current.persistent, current.constant) != (
                    attribute.mutability, attribute.persistent, attribute.constant):
                changes.update(MUTABILITY_ID=MUTABILITIES.index(attribute.mutability),
                               PERSISTENT=int(attribute.persistent), CONSTANT=int(attribute.constant))
            # Config only seeds defaults: a value the CSMS or the station set stays.
            if current.value_source in _CONFIG_OWNED_SOURCES and (
                    current.value != seed or current.value_source != SOURCE_DEFAULT):
                changes.update(VALUE=seed, VALUE_SOURCE=SOURCE_DEFAULT)
            if changes:
                conn.execute(sa.update(VARIABLE_ATTRIBUTE)
                             .where(VARIABLE_ATTRIBUTE.c.ID == current.id).values(**changes))

        # Config monitors are replaced when they differ; CSMS-set (custom)
        # monitors are not the config's business and stay.
        config_monitors = [m for m in record.monitors if m.config_type != "CustomMonitor"]
        have = sorted((m.type, m.severity, m.value, m.transaction, m.config_type, m.reference_value)
                      for m in config_monitors)
        want = sorted((m.type, m.severity, m.value, m.transaction, m.config_type,
                       self._monitor_reference(spec, m)) for m in spec.monitors)
        if have != want:
            if config_monitors:
                conn.execute(sa.delete(VARIABLE_MONITORING).where(
                    VARIABLE_MONITORING.c.ID.in_([m.id for m in config_monitors])))
            self._insert_monitors(conn, record.id, spec)


def _wire_characteristics(chars: dict) -> dict:
    """Characteristics as :meth:`DeviceModelStore.load` would return them."""
    result = {"dataType": chars["dataType"], "supportsMonitoring": bool(chars.get("supportsMonitoring"))}
    for key in ("unit", "minLimit", "maxLimit", "valuesList"):
        if chars.get(key) is not None:
            result[key] = _limit(float(chars[key])) if key in ("minLimit", "maxLimit") else chars[key]
    return result
