"""The one table in: which block answers each CALL the CSMS sends.

:func:`build_routes` is called once, by ``station.core.build_core``, with the finished blocks;
the session gets the table before its first connection (``StationSession.install_routes``).
Every CSMS -> CS action of OCPP 2.0.1 is either in that table or in :data:`NOT_SUPPORTED`,
never both (``tests/unit/test_routes.py``). The RPC core answers an action outside the table
with CALLERROR NotSupported (part 4 §4.2.3: "Requested Action is recognized but not
supported"), and one that is no OCPP 2.0.1 action with NotImplemented.

Handlers are the blocks' ``on_<action>`` methods (STYLE §4), as they are:
``handler(message_id, request: <Action>Request)`` returning ``<Action>Response``, a ``Reply`` or
a ``Deferred`` (``ports.outcome``); the session parses and serialises (``station.session``).
"""
from __future__ import annotations

from blocks.auth_routing import AuthRouting
from blocks.availability import Availability
from blocks.data_transfer import DataTransfer
from blocks.provisioning import Provisioning
from blocks.remote_control import RemoteControl
from blocks.reservation import Reservations
from blocks.reset import Reset
from blocks.smart_charging import SmartCharging
from blocks.transactions import Transactions
from ports.outcome import Handler

#: CSMS -> CS actions of blocks the station does not have: answered CALLERROR NotSupported.
NOT_SUPPORTED: frozenset[str] = frozenset({
    # A: certificates and security profiles 2/3 (TLS) are not implemented.
    "CertificateSigned", "DeleteCertificate", "GetInstalledCertificateIds", "InstallCertificate",
    # B09: network profiles (with TLS profiles).
    "SetNetworkProfile",
    # I: tariff and cost.
    "CostUpdated",
    # L: firmware.
    "PublishFirmware", "UnpublishFirmware", "UpdateFirmware",
    # N: diagnostics, monitoring, customer information.
    "ClearVariableMonitoring", "CustomerInformation", "GetLog", "GetMonitoringReport",
    "SetMonitoringBase", "SetMonitoringLevel", "SetVariableMonitoring",
    # O: display messages.
    "ClearDisplayMessage", "GetDisplayMessages", "SetDisplayMessage",
})

#: Answered when ``build_core(with_reservations=False)`` leaves block H out.
RESERVATION_ACTIONS: frozenset[str] = frozenset({"ReserveNow", "CancelReservation"})


def build_routes(*, provisioning: Provisioning, availability: Availability,
                 remote_control: RemoteControl, transactions: Transactions,
                 auth: AuthRouting, smart_charging: SmartCharging, reset: Reset,
                 data_transfer: DataTransfer,
                 reservations: Reservations | None = None) -> dict[str, Handler]:
    """Action -> handler for every action the station implements."""
    routes: dict[str, Handler] = {
        # B: provisioning, reset
        "GetVariables": provisioning.on_get_variables,
        "SetVariables": provisioning.on_set_variables,
        "GetBaseReport": provisioning.on_get_base_report,
        "GetReport": provisioning.on_get_report,
        "Reset": reset.on_reset,
        # C, D: authorization, local list
        "ClearCache": auth.on_clear_cache,
        "SendLocalList": auth.on_send_local_list,
        "GetLocalListVersion": auth.on_get_local_list_version,
        # E, F: transactions, remote control
        "GetTransactionStatus": transactions.on_get_transaction_status,
        "RequestStartTransaction": transactions.on_request_start_transaction,
        "RequestStopTransaction": transactions.on_request_stop_transaction,
        "UnlockConnector": transactions.on_unlock_connector,
        "TriggerMessage": remote_control.on_trigger_message,
        # G: availability
        "ChangeAvailability": availability.on_change_availability,
        # K: smart charging
        "SetChargingProfile": smart_charging.on_set_charging_profile,
        "GetChargingProfiles": smart_charging.on_get_charging_profiles,
        "ClearChargingProfile": smart_charging.on_clear_charging_profile,
        "GetCompositeSchedule": smart_charging.on_get_composite_schedule,
        # P: data transfer
        "DataTransfer": data_transfer.on_data_transfer,
    }
    if reservations is not None:
        # H: reservations
        routes["ReserveNow"] = reservations.on_reserve_now
        routes["CancelReservation"] = reservations.on_cancel_reservation
    return routes
