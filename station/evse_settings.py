"""The device-model values one EVSE works with, and how they are read.

The Evse reads the station-tier values of :data:`SETTINGS_KEYS` (and, for this EVSE's own
tier, :data:`EVSE_TIER_KEYS` keyed with :data:`EVSE_TIER_PREFIX`) once at start-up and gets
changes in EvseSettingsChanged; :meth:`EvseSettings.from_values` turns them into typed settings.
A missing or unreadable value keeps the default (component_config's).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

from blocks.meter_samples import MeteringConfig
from blocks.tx_state import parse_tx_points
from device_model.values import parse_bool as _bool, parse_number as _number

log = logging.getLogger(__name__)

# Device-model variables the EVSE uses ("Component.Variable", station level, Actual).
SETTINGS_KEYS: tuple[str, ...] = (
    "TxCtrlr.TxStartPoint", "TxCtrlr.TxStopPoint", "TxCtrlr.StopTxOnEVSideDisconnect",
    "TxCtrlr.StopTxOnInvalidId", "TxCtrlr.MaxEnergyOnInvalidId", "TxCtrlr.EVConnectionTimeOut",
    "OCPPCommCtrlr.UnlockOnEVSideDisconnect", "AuthCtrlr.AuthorizeRemoteStart",
    "SampledDataCtrlr.Enabled", "SampledDataCtrlr.TxStartedMeasurands",
    "SampledDataCtrlr.TxUpdatedMeasurands", "SampledDataCtrlr.TxUpdatedInterval",
    "SampledDataCtrlr.TxEndedMeasurands", "SampledDataCtrlr.TxEndedInterval",
    "AlignedDataCtrlr.Enabled", "AlignedDataCtrlr.Measurands", "AlignedDataCtrlr.Interval",
    "AlignedDataCtrlr.SendDuringIdle", "AlignedDataCtrlr.TxEndedMeasurands",
    "AlignedDataCtrlr.TxEndedInterval", "SampledDataCtrlr.SignReadings",
    "AlignedDataCtrlr.SignReadings", "OCPPCommCtrlr.PublicKeyWithSignedMeterValue",
)
# Device-model variables the EVSE reads on its own tier (component with evse.id = this EVSE,
# Actual); in the values they are keyed EVSE_TIER_PREFIX + "Component.Variable".
EVSE_TIER_KEYS: tuple[str, ...] = ("AlignedDataCtrlr.SendDuringIdle",)    # J01.FR.19
EVSE_TIER_PREFIX = "evse:"


def _optional_bool(value: str | None) -> bool | None:
    return _bool(value, False) if (value or "").strip().lower() in ("true", "false") else None


def _points(value: str | None, default: str) -> frozenset[str]:
    if value is None:
        return parse_tx_points(default)
    try:
        return parse_tx_points(value)
    except ValueError as exc:
        log.warning("%s; using %s", exc, default)
        return parse_tx_points(default)


def known_key(key: str) -> bool:
    """Whether the Evse uses ``key`` (a station-tier or an EVSE-tier setting)."""
    return key in SETTINGS_KEYS or key.removeprefix(EVSE_TIER_PREFIX) in EVSE_TIER_KEYS \
        and key.startswith(EVSE_TIER_PREFIX)


@dataclass(frozen=True)
class EvseSettings:
    """The device-model values one EVSE works with; defaults are component_config's."""

    tx_start_points: frozenset[str] = frozenset({"PowerPathClosed"})
    tx_stop_points: frozenset[str] = frozenset({"EVConnected", "Authorized"})
    stop_tx_on_ev_side_disconnect: bool = True
    unlock_on_ev_side_disconnect: bool = True
    stop_tx_on_invalid_id: bool = True
    max_energy_on_invalid_id: float | None = None
    ev_connection_timeout_s: float = 120.0
    authorize_remote_start: bool = False
    metering: MeteringConfig = MeteringConfig()
    # AlignedDataCtrlr.SendDuringIdle of this EVSE's tier; None: the station's applies.
    evse_send_during_idle: bool | None = None
    # OCPPCommCtrlr.PublicKeyWithSignedMeterValue: Never, OncePerTransaction, EveryMeterValue.
    public_key_policy: str = "EveryMeterValue"

    @classmethod
    def from_values(cls, values: Mapping[str, str | None]) -> "EvseSettings":
        """Build from ``{"Component.Variable": value}`` (:data:`SETTINGS_KEYS`); a missing or
        unreadable value keeps the default."""
        d = cls()
        get = values.get
        timeout = _number(get("TxCtrlr.EVConnectionTimeOut"), d.ev_connection_timeout_s)
        return cls(
            tx_start_points=_points(get("TxCtrlr.TxStartPoint"), "PowerPathClosed"),
            tx_stop_points=_points(get("TxCtrlr.TxStopPoint"), "EVConnected,Authorized"),
            stop_tx_on_ev_side_disconnect=_bool(get("TxCtrlr.StopTxOnEVSideDisconnect"),
                                                d.stop_tx_on_ev_side_disconnect),
            unlock_on_ev_side_disconnect=_bool(get("OCPPCommCtrlr.UnlockOnEVSideDisconnect"),
                                               d.unlock_on_ev_side_disconnect),
            stop_tx_on_invalid_id=_bool(get("TxCtrlr.StopTxOnInvalidId"),
                                        d.stop_tx_on_invalid_id),
            max_energy_on_invalid_id=_number(get("TxCtrlr.MaxEnergyOnInvalidId"), None),
            ev_connection_timeout_s=timeout if timeout is not None else 0.0,
            authorize_remote_start=_bool(get("AuthCtrlr.AuthorizeRemoteStart"),
                                         d.authorize_remote_start),
            metering=MeteringConfig.from_lookup(lambda c, v: get(f"{c}.{v}")),
            evse_send_during_idle=_optional_bool(
                get(EVSE_TIER_PREFIX + "AlignedDataCtrlr.SendDuringIdle")),
            public_key_policy=(get("OCPPCommCtrlr.PublicKeyWithSignedMeterValue")
                               or d.public_key_policy),
        )
