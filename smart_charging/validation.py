"""Is a ChargingProfile acceptable? The checks of SetChargingProfile (K01) and of the profile in
RequestStartTransaction (K05, F01.FR.08-12/26), as one pure function.

Theory of operation
-------------------
:func:`validate_profile` takes the request (the EVSE id and the ChargingProfileType as it came
off the wire, already schema-checked), what the station knows (the profiles installed, the
transactions running, the EVSE ids, the SmartChargingCtrlr limits in :class:`Limits`) and the
station time, and returns a :class:`Verdict`: Accepted, or Rejected with the
ReasonCode of part 2's appendix (reason_codes.csv) and a short text for ``additionalInfo``.
Nothing is stored here; the block (``blocks/smart_charging.py``) persists an accepted profile.

The checks run in this order, so that the reason given is the most specific one:

1. the EVSE exists (K01.FR.28), the purpose may be set by the CSMS (K01.FR.22) and suits the
   EVSE (K04.FR.03, K01.FR.16);
2. kind and startSchedule agree (K01.FR.38/40/41; Recurring needs recurrencyKind), validity
   period is not empty;
3. the schedule: one of them without ISO 15118 (K01.FR.34), a supported rate unit (K01.FR.26,
   SmartChargingCtrlr.RateUnit), at most PeriodsPerSchedule periods, first startPeriod 0
   (K01.FR.31), strictly increasing (K01.FR.35), non-negative limits, numberPhases the EVSE
   can keep to (K01.FR.43/45), phaseToUse only with numberPhases 1 (K01.FR.19) and
   ACPhaseSwitchingSupported (K01.FR.20/48);
4. stackLevel at most SmartChargingCtrlr.ProfileStackLevel;
5. a TxProfile names a transaction (K01.FR.03) that is known (K01.FR.33) and runs on this EVSE
   (K01.FR.09); a remote-start profile names none (F01.FR.11);
6. an existing ChargingStationExternalConstraints profile is not replaced (K01.FR.05);
7. no other profile with the same stackLevel and purpose on the same EVSE overlaps its validity
   (K01.FR.06), TxDefaultProfiles on EVSE 0 and on an EVSE with the same stackLevel exclude
   each other (K01.FR.52/53), and a TxProfile's stackLevel is unique per transaction
   (K01.FR.39): DuplicateProfile;
8. room for one more (SmartChargingCtrlr.Entries(ChargingProfiles) maxLimit): OutOfStorage.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, Protocol

from messages.ocpp201 import (ChargingProfileKindEnumType as Kind,
                              ChargingProfilePurposeEnumType as Purpose,
                              ChargingProfileStatusEnumType as Status, ChargingProfileType,
                              SetChargingProfileResponse, StatusInfoType)
from ports.time import parse_ocpp_time

_NEVER = datetime.max.replace(tzinfo=timezone.utc)
_ALWAYS = datetime.min.replace(tzinfo=timezone.utc)


class InstalledProfile(Protocol):
    """What validation needs to know about a profile already on the station."""

    evse_id: int
    profile: ChargingProfileType
    transaction_id: str | None


@dataclass(frozen=True)
class Limits:
    """The station's smart-charging capabilities (SmartChargingCtrlr and the hardware).

    Attributes:
        profile_stack_level: SmartChargingCtrlr.ProfileStackLevel, the highest stackLevel.
        periods_per_schedule: SmartChargingCtrlr.PeriodsPerSchedule.
        rate_units: SmartChargingCtrlr.RateUnit, e.g. {"A", "W"}.
        max_entries: maxLimit of SmartChargingCtrlr.Entries(ChargingProfiles).
        phase_switching: EVSE ids whose ACPhaseSwitchingSupported is true.
        iso15118_transactions: transactions whose EV sent charging needs (K01.FR.34).
    """

    profile_stack_level: int = 10
    periods_per_schedule: int = 48
    rate_units: frozenset[str] = frozenset({"A", "W"})
    max_entries: int = 500
    phase_switching: frozenset[int] = frozenset()
    iso15118_transactions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    """The outcome: ``status`` Accepted or Rejected, with a ReasonCode when Rejected."""

    status: Status
    reason: str | None = None
    info: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == Status.accepted

    def response(self) -> SetChargingProfileResponse:
        """The SetChargingProfileResponse."""
        status_info = None
        if self.reason is not None:
            status_info = StatusInfoType(reason_code=self.reason,
                                         additional_info=self.info[:512] if self.info else None)
        return SetChargingProfileResponse(status=self.status, status_info=status_info)


OK = Verdict(Status.accepted)


def _reject(reason: str, info: str) -> Verdict:
    return Verdict(Status.rejected, reason, info)


def validity(profile: ChargingProfileType) -> tuple[datetime, datetime]:
    """[validFrom, validTo) of a profile; unbounded ends when absent (K01.FR.10/36/37)."""
    start, end = profile.valid_from, profile.valid_to
    return (parse_ocpp_time(start) if start else _ALWAYS,
            parse_ocpp_time(end) if end else _NEVER)


def _overlap(a: ChargingProfileType, b: ChargingProfileType) -> bool:
    a_from, a_to = validity(a)
    b_from, b_to = validity(b)
    return a_from < b_to and b_from < a_to


def validate_profile(evse_id: int, profile: ChargingProfileType, *,
                     installed: Iterable[InstalledProfile],
                     evse_ids: Iterable[int], ongoing: Mapping[str, int], limits: Limits,
                     now: datetime, remote_start: bool = False) -> Verdict:
    """Check one ChargingProfile (see the module docstring for the order of the checks).

    Args:
        evse_id: SetChargingProfileRequest.evseId (for a remote start: the EVSE chosen).
        profile: the ChargingProfileType.
        installed: every profile on the station now.
        evse_ids: the EVSE ids that exist (1..N); 0 is always the station.
        ongoing: running transactions, transactionId -> EVSE id.
        limits: the station's capabilities.
        now: the station time (for expired validity).
        remote_start: the profile came in RequestStartTransaction (F01.FR.09/11): it must be
            a TxProfile without transactionId; the transaction does not exist yet.

    Returns:
        The verdict; the caller answers with :meth:`Verdict.response` when rejected.
    """
    evse_ids = set(evse_ids)
    purpose = profile.charging_profile_purpose
    kind = profile.charging_profile_kind
    if evse_id != 0 and evse_id not in evse_ids:
        return _reject("UnknownEvse", f"EVSE {evse_id} does not exist")            # K01.FR.28
    if purpose == Purpose.charging_station_external_constraints:
        return _reject("InvalidProfile",                                           # K01.FR.22
                       "ChargingStationExternalConstraints is set by external systems only")
    if remote_start and purpose != Purpose.tx_profile:
        return _reject("InvalidProfile", "the profile of a remote start must be a TxProfile")
    if purpose == Purpose.charging_station_max_profile and evse_id != 0:
        return _reject("InvalidProfile",                                           # K04.FR.03
                       "ChargingStationMaxProfile can only be set on EVSE 0")
    if purpose == Purpose.tx_profile and evse_id == 0:
        return _reject("InvalidProfile", "TxProfile needs an EVSE id > 0")        # K01.FR.16
    if purpose == Purpose.charging_station_max_profile and kind == Kind.relative:
        return _reject("InvalidProfile",                                           # K01.FR.38
                       "ChargingStationMaxProfile cannot be Relative")
    verdict = _check_kind_and_validity(profile, now)
    if verdict is not OK:
        return verdict
    verdict = _check_schedules(evse_id, profile, limits)
    if verdict is not OK:
        return verdict
    if profile.stack_level > limits.profile_stack_level:
        return _reject("InvalidStackLevel", f"stackLevel above {limits.profile_stack_level}")
    transaction_id = profile.transaction_id
    if remote_start:
        if transaction_id is not None:
            return _reject("InvalidProfile",                                       # F01.FR.11
                           "the profile of a remote start must not carry a transactionId")
    elif purpose == Purpose.tx_profile:
        if transaction_id is None:
            return _reject("MissingParam", "a TxProfile needs a transactionId")   # K01.FR.03
        running_on = ongoing.get(transaction_id)
        if running_on is None:
            return _reject("TxNotFound",                                           # K01.FR.33
                           f"no transaction {transaction_id} is running")
        if running_on != evse_id:
            return _reject("TxNotFound",                                           # K01.FR.09
                           f"transaction {transaction_id} runs on EVSE {running_on}")
    installed = list(installed)
    existing = next((p for p in installed if p.profile.id == profile.id), None)
    if existing is not None and existing.profile.charging_profile_purpose == \
            Purpose.charging_station_external_constraints:
        return _reject("InvalidProfile",                                           # K01.FR.05
                       "an external constraints profile cannot be replaced")
    verdict = _check_duplicates(evse_id, profile, installed)
    if verdict is not OK:
        return verdict
    if existing is None and len(installed) >= limits.max_entries:
        return _reject("OutOfStorage", f"the station holds at most {limits.max_entries} "
                                       "charging profiles")
    return OK


def _check_kind_and_validity(profile: ChargingProfileType, now: datetime) -> Verdict:
    kind = profile.charging_profile_kind
    for schedule in profile.charging_schedule:
        has_start = schedule.start_schedule is not None
        if kind in (Kind.absolute, Kind.recurring) and not has_start:
            return _reject("InvalidSchedule",                                      # K01.FR.40
                           f"an {kind.value} profile needs startSchedule")
        if kind == Kind.relative and has_start:
            return _reject("InvalidSchedule",                                      # K01.FR.41
                           "a Relative profile must not have startSchedule")
    has_recurrency = profile.recurrency_kind is not None
    if kind == Kind.recurring and not has_recurrency:
        return _reject("InvalidProfile", "a Recurring profile needs recurrencyKind")
    if kind != Kind.recurring and has_recurrency:
        return _reject("InvalidProfile", "recurrencyKind is only for Recurring profiles")
    valid_from, valid_to = validity(profile)
    if valid_from >= valid_to:
        return _reject("InvalidProfile", "validFrom is not before validTo")
    if valid_to <= now:
        return _reject("InvalidProfile", "validTo is in the past")               # K01.FR.37
    return OK


def _check_schedules(evse_id: int, profile: ChargingProfileType, limits: Limits) -> Verdict:
    schedules = profile.charging_schedule
    transaction_id = profile.transaction_id
    if len(schedules) > 1 and transaction_id not in limits.iso15118_transactions:
        return _reject("InvalidSchedule",                                          # K01.FR.34
                       "only one chargingSchedule without ISO 15118 charging needs")
    # More numberPhases than the EVSE supplies is accepted and imposed on fewer phases
    # (K01.FR.45); the simulated EVSE can always keep to fewer (K01.FR.43).
    for schedule in schedules:
        unit = schedule.charging_rate_unit
        if unit not in limits.rate_units:
            return _reject("UnsupportedRateUnit",                                  # K01.FR.26
                           f"chargingRateUnit {unit.value} is not in RateUnit")
        periods = schedule.charging_schedule_period
        if len(periods) > limits.periods_per_schedule:
            return _reject("TooManyElements",
                           f"more than {limits.periods_per_schedule} periods (PeriodsPerSchedule)")
        if periods[0].start_period != 0:
            return _reject("InvalidSchedule", "the first startPeriod must be 0")  # K01.FR.31
        starts = [p.start_period for p in periods]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            return _reject("InvalidSchedule",                                      # K01.FR.35
                           "startPeriods must increase")
        duration = schedule.duration
        if duration is not None and duration <= 0:
            return _reject("InvalidSchedule", "duration must be positive")
        for period in periods:
            if period.limit < 0:
                return _reject("InvalidSchedule", "a limit is negative")
            number = period.number_phases
            if number is not None and not 1 <= number <= 3:
                return _reject("InvalidSchedule", "numberPhases must be 1, 2 or 3")
            if period.phase_to_use is not None:
                if number != 1:
                    return _reject("InvalidSchedule",                              # K01.FR.19
                                   "phaseToUse needs numberPhases 1")
                if evse_id == 0 or evse_id not in limits.phase_switching:
                    return _reject("UnsupportedParam",                             # K01.FR.20/48
                                   "the EVSE cannot switch the phase it uses")
    return OK


def _check_duplicates(evse_id: int, profile: ChargingProfileType,
                      installed: list[InstalledProfile]) -> Verdict:
    purpose, level, pid = profile.charging_profile_purpose, profile.stack_level, profile.id
    for other in installed:
        theirs = other.profile
        if theirs.id == pid or theirs.charging_profile_purpose != purpose \
                or theirs.stack_level != level:
            continue
        if purpose == Purpose.tx_profile:
            if other.transaction_id == profile.transaction_id:
                return _reject("DuplicateProfile",                                 # K01.FR.39
                               f"profile {theirs.id} has this stackLevel for the transaction")
            continue
        if purpose == Purpose.tx_default_profile and (evse_id == 0) != (other.evse_id == 0):
            return _reject("DuplicateProfile",                                     # K01.FR.52/53
                           f"TxDefaultProfile {theirs.id} has this stackLevel on EVSE "
                           f"{other.evse_id}")
        if other.evse_id == evse_id and _overlap(theirs, profile):
            return _reject("DuplicateProfile",                                     # K01.FR.06
                           f"profile {theirs.id} has this stackLevel and purpose")
    return OK
