"""EVSE hardware seam: the driver interface every Evse actor talks to (see ``driver``).

The simulated driver lives in ``simulators.evse_hardware``; real drivers implement
:class:`evse_hw.driver.EvseHardware` the same way.
"""
from evse_hw.driver import (AppliedLimit, ConnectorPlugged, ConnectorState, ConnectorUnplugged,
                            EvState, EvStateChanged, EvseHardware, Fault, FaultCleared,
                            FaultRaised, HardwareEvent, HardwareFactory, HardwareInfo,
                            HardwareState, KeepsState, MeterReading, ParkingBayOccupancy,
                            PowerPathClosed, PowerPathOpened)

__all__ = [
    "AppliedLimit", "ConnectorPlugged", "ConnectorState", "ConnectorUnplugged", "EvState",
    "EvStateChanged", "EvseHardware", "Fault", "FaultCleared", "FaultRaised", "HardwareEvent",
    "HardwareFactory", "HardwareInfo", "HardwareState", "KeepsState", "MeterReading",
    "ParkingBayOccupancy", "PowerPathClosed", "PowerPathOpened",
]
