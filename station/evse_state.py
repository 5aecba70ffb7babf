"""What one EVSE's connectors show, derived from the layers of availability.

G03.FR.06/G04.FR.07: an Inoperative station or EVSE makes every connector Unavailable;
G03.FR.07/G04.FR.08: when it becomes Operative again each connector reverts to what it would
otherwise be. Keeping the status *derived* (instead of stored and patched) makes "revert to the
original status" free: there is nothing to revert.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from messages.ocpp201 import ConnectorStatusEnumType, OperationalStatusEnumType

# StrEnums: equal to the plain strings the AVAILABILITY rows hold, and saved as the same text.
OPERATIVE = OperationalStatusEnumType.operative
INOPERATIVE = OperationalStatusEnumType.inoperative


@dataclass
class EvseState:
    evse_id: int
    connector_ids: tuple[int, ...]
    station_operative: bool = True
    evse_operative: bool = True
    connector_operative: dict[int, bool] = field(default_factory=dict)

    @classmethod
    def load(cls, evse_id: int, connectors: int, rows: dict[tuple[int, int], str]) -> "EvseState":
        """Build from AVAILABILITY rows: (0, 0) station, (evse, 0) EVSE, (evse, c) connector."""
        state = cls(evse_id, tuple(range(1, connectors + 1)))
        state.station_operative = rows.get((0, 0), OPERATIVE) == OPERATIVE
        state.evse_operative = rows.get((evse_id, 0), OPERATIVE) == OPERATIVE
        state.connector_operative = {c: rows.get((evse_id, c), OPERATIVE) == OPERATIVE
                                     for c in state.connector_ids}
        return state

    def connector_status(self, connector_id: int) -> ConnectorStatusEnumType:
        if not (self.station_operative and self.evse_operative
                and self.connector_operative.get(connector_id, True)):
            return ConnectorStatusEnumType.unavailable
        return ConnectorStatusEnumType.available

    def statuses(self) -> dict[int, ConnectorStatusEnumType]:
        return {c: self.connector_status(c) for c in self.connector_ids}

    def operational_status(self, connector_id: int | None = None) -> OperationalStatusEnumType:
        if connector_id is None:
            return OPERATIVE if self.evse_operative else INOPERATIVE
        return OPERATIVE if self.connector_operative.get(connector_id, True) else INOPERATIVE
