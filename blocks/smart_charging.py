"""Functional block K, smart charging, on the CsmsSession's side: charging profiles, composite
schedules, external limits, and what the energy sinks are told.

Theory of operation
-------------------
This block owns every charging profile of the station. A profile is installed on an EVSE id
(0: the station) and kept in memory as a :class:`~storage.profile_repo.StoredProfile`; every
change is written to CHARGING_PROFILES before the CSMS gets an answer (K01.FR.27).

* **SetChargingProfile (K01)**: :func:`smart_charging.validation.validate_profile` decides;
  an accepted profile replaces the one with the same id (K01.FR.05) and the composite
  schedules are recomputed (K01.FR.07).
* **GetChargingProfiles (K09)**: the matching profiles go out in ReportChargingProfiles
  requests after the response, one or more per (chargingLimitSource, EVSE), at most
  ``REPORT_PAGE`` profiles each, ``tbc`` on all but the last (K09.FR.01/02).
* **ClearChargingProfile (K10)** by id or by criteria; profiles of external systems are never
  cleared by the CSMS (K10.FR.04/08/09).
* **Transactions**: a TxProfile belongs to a running transaction (K01.FR.09/33) and is deleted
  when the transaction ends (K02.FR.05). The profile of a RequestStartTransaction (K05,
  F01.FR.08-11) is checked before the EVSE is asked (F01.FR.26) and installed with the
  transactionId once known: from the Evse's answer when the transaction exists already
  (F01.FR.13), else from the first TransactionEvent carrying the request's remoteStartId.
* **GetCompositeSchedule (K08)** through :func:`smart_charging.composite.composite_schedule`:
  for EVSE n the profiles installed on 0 and on n, only the TxProfiles of n's running
  transaction, and the external limits; without a transaction the TxDefaultProfiles count as
  if one ran (K08.FR.06).
* **Energy sinks**: every ``CompositeScheduleIntervalS`` (0: only on change) and, at the
  session's next tick, whenever a profile, an external limit or the set of running
  transactions changes, the composite
  schedule of every EVSE id 0..N for ``RequestCompositeScheduleDurationS`` in
  ``RequestCompositeScheduleUnit`` goes to the EnergySink of that id
  (:class:`~messages.energy.CompositeScheduleUpdated`). Sink 0 also learns which EVSEs run a
  transaction: it shares the station's limit among them (``actors/energy_sink.py``).
* **External limits (K11-K13)**: an energy manager (the control API) sets or clears a limit on
  an EVSE id. It is kept as a ChargingStationExternalConstraints profile with a negative id
  (K11.FR.06 recommends that) and its source in CHARGING_LIMIT_SOURCE, so it survives a reboot
  like libocpp's, is reported by GetChargingProfiles (K12.FR.05) and enters the composite
  schedule (K11.FR.01, K12.FR.01). A change by more than SmartChargingCtrlr.
  LimitChangeSignificance percent is announced with NotifyChargingLimit (K11.FR.02, K12.FR.02;
  with the schedule when NotifyChargingLimitWithSchedules, K11.FR.03), a release with
  ClearedChargingLimit (K13.FR.02).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Mapping
from typing import Callable, Protocol

from messages.energy import CompositeScheduleUpdated
from messages.ocpp201 import (ChargingLimitSourceEnumType as Source, ChargingLimitType,
                              ChargingProfileCriterionType, ChargingProfileKindEnumType,
                              ChargingProfilePurposeEnumType as Purpose, ChargingProfileType,
                              ChargingRateUnitEnumType as Unit, ChargingSchedulePeriodType,
                              ChargingScheduleType, ClearChargingProfileRequest,
                              ClearChargingProfileResponse, ClearChargingProfileStatusEnumType,
                              ClearedChargingLimitRequest, CompositeScheduleType,
                              GenericStatusEnumType, GetChargingProfilesRequest,
                              GetChargingProfilesResponse, GetChargingProfileStatusEnumType,
                              GetCompositeScheduleRequest, GetCompositeScheduleResponse,
                              NotifyChargingLimitRequest, ReportChargingProfilesRequest,
                              RequestStartStopStatusEnumType, RequestStartTransactionResponse,
                              SetChargingProfileRequest, SetChargingProfileResponse,
                              StatusInfoType, TransactionEventEnumType, TransactionEventRequest)
from ocppj.errors import NotSupported
from smart_charging.composite import composite_schedule
from smart_charging.validation import Limits, Verdict, validate_profile
from ports.outcome import Reply
from ports.sending import SendPort
from ports.device_model import DeviceModelReporter
from ports.session import ActorOutbox, ConnectionEvents, SessionClock, Timers
from ports.time import iso, parse_ocpp_time
from storage.profile_repo import ProfileRepository, StoredProfile

log = logging.getLogger(__name__)

REPORT_PAGE = 10                 # profiles per ReportChargingProfilesRequest
NOMINAL_VOLTAGE_V = 230.0        # K01.FR.50: the set voltage for the area, not a measurement
EXTERNAL = Purpose.charging_station_external_constraints
TX_PROFILE = Purpose.tx_profile


@dataclass(frozen=True)
class EvseHardware:
    """What the composite schedule needs of an EVSE's hardware (its own maximum)."""

    max_current_a: float
    phases: int


def external_profile_id(evse_id: int) -> int:
    """The id of the ChargingStationExternalConstraints profile of an EVSE id (K11.FR.06)."""
    return -(evse_id + 1)


class SmartChargingSession(SessionClock, Timers, ConnectionEvents, ActorOutbox, Protocol):
    """The session ports block K uses."""


class SmartCharging:
    """Block K (see the module docstring).

    Args:
        session: routes SetChargingProfile, GetChargingProfiles, ClearChargingProfile and
            GetCompositeSchedule; sends ReportChargingProfiles, NotifyChargingLimit,
            ClearedChargingLimit and messages to the energy sinks.
        device_model: SmartChargingCtrlr variables.
        repo: a :class:`~storage.profile_repo.ProfileRepository`.
        hardware: each EVSE's hardware, EVSE 1 first.
        ongoing: running transactions, transactionId -> EVSE id (read only; the
            Transactions block writes it).
        interval_s / duration_s / unit: CompositeScheduleIntervalS,
            RequestCompositeScheduleDurationS, RequestCompositeScheduleUnit (A or W).
        wall_clock: the station time; defaults to the session's.
    """

    def __init__(self, session: SmartChargingSession, sender: SendPort,
                 device_model: DeviceModelReporter, repo: ProfileRepository,
                 hardware: list[EvseHardware], ongoing: Mapping[str, int], *,
                 interval_s: int = 30, duration_s: int = 600, unit: Unit | str = Unit.a,
                 wall_clock: Callable[[], datetime] | None = None) -> None:
        self._session = session
        self._sender = sender
        self._dm = device_model
        self._repo = repo
        self._hardware = {evse_id: hw for evse_id, hw in enumerate(hardware, start=1)}
        self.ongoing: Mapping[str, int] = ongoing
        self.interval_s = interval_s
        self.duration_s = duration_s
        self.unit = Unit(unit)
        self._clock = wall_clock or session.wall_clock
        self.profiles: dict[int, StoredProfile] = {p.id: p for p in repo.all()}
        # RequestStartTransaction profiles waiting for their transaction: remoteStartId ->
        # (EVSE id, profile).
        self._pending: dict[int, tuple[int, ChargingProfileType]] = {}
        self._tx_started: dict[str, datetime] = {}
        self._limited = False            # the last publication had profiles
        self._next_publish: float | None = session.now if interval_s > 0 else None
        self._update_entries()
        session.add_timer(lambda: self._next_publish, self._publish_due)
        session.on_registration(lambda registration, previous, now: self.publish())

    # -- capabilities -------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        dm = self._dm
        return bool(dm.get_bool("SmartChargingCtrlr", "Available", default=True)
                    and dm.get_bool("SmartChargingCtrlr", "Enabled", default=True))

    def limits(self) -> Limits:
        dm = self._dm
        units = dm.get("SmartChargingCtrlr", "RateUnit") or "A,W"
        switching = frozenset(
            e for e in self._hardware
            if dm.get_bool("SmartChargingCtrlr", "ACPhaseSwitchingSupported", evse_id=e,
                           default=False)
            or dm.get_bool("SmartChargingCtrlr", "ACPhaseSwitchingSupported", default=False))
        return Limits(
            profile_stack_level=dm.get_int("SmartChargingCtrlr", "ProfileStackLevel",
                                           default=10),
            periods_per_schedule=dm.get_int("SmartChargingCtrlr", "PeriodsPerSchedule",
                                            default=48),
            rate_units=frozenset(u.strip() for u in units.split(",") if u.strip()),
            max_entries=dm.max_limit("SmartChargingCtrlr", "Entries",
                                     instance="ChargingProfiles", default=500),
            phase_switching=switching)

    # -- K01 SetChargingProfile ------------------------------------------------------------------

    def on_set_charging_profile(self, message_id: str, request: SetChargingProfileRequest,
                                ) -> SetChargingProfileResponse | Reply:
        if not self.enabled:
            raise NotSupported("smart charging is not enabled (SmartChargingCtrlr)")  # K01.FR.29
        evse_id, profile = request.evse_id, request.charging_profile
        verdict = self._validate(evse_id, profile)
        if not verdict.accepted:
            log.info("SetChargingProfile %s rejected: %s (%s)", profile.id, verdict.reason,
                     verdict.info)
            return verdict.response()
        self._install(StoredProfile(evse_id, profile, Source.cso, profile.transaction_id))
        return Reply(verdict.response(), then=self.publish_soon)           # K01.FR.07

    def _validate(self, evse_id: int, profile: ChargingProfileType, *,
                  remote_start: bool = False) -> Verdict:
        return validate_profile(evse_id, profile, installed=self.profiles.values(),
                                evse_ids=self._hardware, ongoing=self.ongoing,
                                limits=self.limits(), now=self._clock(),
                                remote_start=remote_start)

    def _install(self, stored: StoredProfile) -> None:
        self._repo.save(stored)                                             # K01.FR.27
        self.profiles[stored.id] = stored                                   # K01.FR.05
        self._update_entries()

    def _remove(self, profile_ids: list[int]) -> None:
        self._repo.delete(profile_ids)
        for pid in profile_ids:
            self.profiles.pop(pid, None)
        self._update_entries()

    def _update_entries(self) -> None:
        self._dm.set_internal("SmartChargingCtrlr", "Entries", len(self.profiles),
                              instance="ChargingProfiles")

    # -- K05 RequestStartTransaction with a profile ----------------------------------------------

    def check_remote_start(self, evse_id: int, profile: ChargingProfileType,
                           ) -> RequestStartTransactionResponse | None:
        """The RequestStartTransactionResponse that rejects ``profile``, or None if it is fine
        (F01.FR.26, K05.FR.05). Without smart charging the profile is ignored (F01.FR.12)."""
        if not self.enabled:
            return None
        verdict = self._validate(evse_id, profile, remote_start=True)
        if verdict.accepted:
            return None
        # F01.FR.26 names only these two reason codes for a remote start.
        reason = "InvalidSchedule" if verdict.reason == "InvalidSchedule" else "InvalidProfile"
        return RequestStartTransactionResponse(
            status=RequestStartStopStatusEnumType.rejected,
            status_info=StatusInfoType(reason_code=reason,
                                       additional_info=(verdict.info or "")[:512]))

    def remote_start_accepted(self, evse_id: int, remote_start_id: int,
                              profile: ChargingProfileType,
                              transaction_id: str | None) -> None:
        """The EVSE accepted the remote start: the profile is for its transaction
        (F01.FR.10, K05.FR.03), now if the transaction exists, else once it does."""
        if not self.enabled:
            return
        if transaction_id is not None and self.ongoing.get(transaction_id) == evse_id:
            self._install_tx_profile(evse_id, profile, transaction_id)
        else:
            self._pending[remote_start_id] = (evse_id, profile)

    def _install_tx_profile(self, evse_id: int, profile: ChargingProfileType,
                            transaction_id: str) -> None:
        profile = profile.model_copy(update={"transaction_id": transaction_id})
        verdict = self._validate(evse_id, profile)
        if not verdict.accepted:
            # Checked at the request; only a change since (a duplicate stack level set in
            # between) can get here.
            log.warning("TxProfile %s of the remote start not installed: %s", profile.id,
                        verdict.info)
            return
        self._install(StoredProfile(evse_id, profile, Source.cso, transaction_id))
        self.publish_soon()

    # -- transactions ----------------------------------------------------------------------------

    def restore_transactions(self, started: dict[str, datetime]) -> None:
        """Start times of the transactions running when this session started (Relative
        profiles count from them, K01.FR.42), so a restart of the session does not move them."""
        for transaction_id, when in started.items():
            self._tx_started.setdefault(transaction_id, when)

    def transaction_event(self, event: TransactionEventRequest, evse_id: int | None) -> None:
        """Every TransactionEvent the station sends (Transactions calls this)."""
        transaction_id = event.transaction_info.transaction_id
        if event.event_type == TransactionEventEnumType.ended:
            self._tx_started.pop(transaction_id, None)
            mine = [p.id for p in self.profiles.values()
                    if p.purpose == TX_PROFILE and p.transaction_id == transaction_id]
            if mine:
                self._remove(mine)                                          # K02.FR.05
                log.info("transaction %s ended: TxProfiles %s deleted", transaction_id, mine)
            self.publish_soon()
            return
        if event.event_type == TransactionEventEnumType.started:
            self._tx_started[transaction_id] = parse_ocpp_time(event.timestamp)
        remote_start_id = event.transaction_info.remote_start_id
        if remote_start_id in self._pending and evse_id is not None:
            pending_evse, profile = self._pending.pop(remote_start_id)
            self._install_tx_profile(pending_evse, profile, transaction_id)
        elif event.event_type == TransactionEventEnumType.started:
            if evse_id is not None:
                # Another transaction took the EVSE: a remote start still waiting there came
                # to nothing (its authorization timed out, say), and so did its profile.
                for key in [k for k, (e, _) in self._pending.items() if e == evse_id]:
                    del self._pending[key]
            self.publish_soon()

    # -- K09 GetChargingProfiles -----------------------------------------------------------------

    def on_get_charging_profiles(self, message_id: str, request: GetChargingProfilesRequest,
                                 ) -> GetChargingProfilesResponse | Reply:
        matching = self.matching(request.evse_id, request.charging_profile)
        if not matching:
            return GetChargingProfilesResponse(status=GetChargingProfileStatusEnumType.no_profiles)
        request_id = request.request_id
        return Reply(GetChargingProfilesResponse(status=GetChargingProfileStatusEnumType.accepted),
                     then=lambda: self._report(request_id, matching))

    def matching(self, evse_id: int | None,
                 criteria: ChargingProfileCriterionType) -> list[StoredProfile]:
        """Profiles matching GetChargingProfilesRequest's evseId and chargingProfile
        criteria, every given field ANDed (K09.FR.03-06)."""
        ids = criteria.charging_profile_id
        sources = criteria.charging_limit_source
        purpose, level = criteria.charging_profile_purpose, criteria.stack_level
        out = []
        for stored in self.profiles.values():
            if evse_id is not None and stored.evse_id != evse_id:           # K09.FR.04/05
                continue
            if ids is not None and stored.id not in ids:
                continue
            if purpose is not None and stored.purpose != purpose:
                continue
            if level is not None and stored.stack_level != level:
                continue
            if sources is not None and stored.source not in sources:
                continue
            out.append(stored)
        return out

    def _report(self, request_id: int, matching: list[StoredProfile]) -> None:
        groups: dict[tuple[Source, int], list[ChargingProfileType]] = {}
        for stored in sorted(matching, key=lambda p: (p.source, p.evse_id, p.id)):
            groups.setdefault((stored.source, stored.evse_id), []).append(stored.profile)
        pages = [(source, evse_id, profiles[i:i + REPORT_PAGE])
                 for (source, evse_id), profiles in groups.items()
                 for i in range(0, len(profiles), REPORT_PAGE)]
        for n, (source, evse_id, profiles) in enumerate(pages):
            self._sender.send("ReportChargingProfiles", ReportChargingProfilesRequest(
                request_id=request_id,                                      # K09.FR.01
                charging_limit_source=source,
                evse_id=evse_id,
                charging_profile=tuple(profiles),
                tbc=n < len(pages) - 1,                                     # K09.FR.02
            ))

    # -- K10 ClearChargingProfile ----------------------------------------------------------------

    def on_clear_charging_profile(self, message_id: str, request: ClearChargingProfileRequest,
                                  ) -> ClearChargingProfileResponse | Reply:
        unknown = ClearChargingProfileResponse(status=ClearChargingProfileStatusEnumType.unknown)
        profile_id = request.charging_profile_id
        if profile_id is not None:
            stored = self.profiles.get(profile_id)
            if stored is None or stored.purpose == EXTERNAL:                # K10.FR.09
                return unknown
            doomed = [profile_id]                                           # K10.FR.03
        else:
            # Every criterion given must match; none given (or only customData) matches all.
            criteria = request.charging_profile_criteria
            wanted = [] if criteria is None else [
                (field, value) for field, value in ((lambda p: p.evse_id, criteria.evse_id),
                                                    (lambda p: p.purpose,
                                                     criteria.charging_profile_purpose),
                                                    (lambda p: p.stack_level,
                                                     criteria.stack_level))
                if value is not None]
            doomed = [p.id for p in self.profiles.values() if p.purpose != EXTERNAL
                      and all(field(p) == value for field, value in wanted)]
            if not doomed:
                return unknown                                              # K10.FR.01/08
        self._remove(doomed)                                                # K10.FR.04
        return Reply(ClearChargingProfileResponse(                         # K10.FR.05
            status=ClearChargingProfileStatusEnumType.accepted), then=self.publish_soon)

    # -- K08 GetCompositeSchedule ----------------------------------------------------------------

    def on_get_composite_schedule(self, message_id: str, request: GetCompositeScheduleRequest,
                                  ) -> GetCompositeScheduleResponse:
        evse_id = request.evse_id
        unit = request.charging_rate_unit or self.unit
        if evse_id != 0 and evse_id not in self._hardware:
            return _composite_rejected("UnknownEvse")                       # K08.FR.05
        if unit not in self.limits().rate_units:
            return _composite_rejected("UnsupportedRateUnit")               # K08.FR.07
        schedule = self.composite(evse_id, self._clock(), request.duration, unit)
        return GetCompositeScheduleResponse(status=GenericStatusEnumType.accepted,  # K08.FR.02
                                            schedule=schedule)

    def composite(self, evse_id: int, start: datetime, duration_s: int, unit: Unit, *,
                  total: bool = True) -> CompositeScheduleType:
        """CompositeScheduleType of one EVSE id (see the module docstring).

        For EVSE 0 with ``total`` the expected consumption of the whole station: the sum of
        the EVSEs' schedules under the station-level limits (K08.FR.03); without ``total`` only
        the station-level limits (what sink 0 shares among the EVSEs).
        """
        running = self.running()
        hardware = self._hardware
        station_max = sum(hw.max_current_a for hw in hardware.values())
        common = dict(start=start, duration_s=duration_s, unit=unit,
                      nominal_voltage=NOMINAL_VOLTAGE_V)
        if evse_id == 0:
            profiles = self._profiles_for(None, running)
            if not total:
                return composite_schedule(
                    [(e, p) for e, p in profiles if e == 0], evse_id=0,
                    max_current_a=station_max, **common)
            starts = {e: self._tx_started[t] for e, t in running.items() if t in self._tx_started}
            return composite_schedule(
                profiles, evse_id=0, max_current_a=station_max, evse_ids=list(hardware),
                transaction_starts=starts,
                evse_max={e: (hw.max_current_a, None) for e, hw in hardware.items()},
                evse_phases={e: hw.phases for e, hw in hardware.items()}, **common)
        transaction_id = running.get(evse_id)
        return composite_schedule(
            self._profiles_for(evse_id, running), evse_id=evse_id,
            transaction_start=self._tx_started.get(transaction_id) if transaction_id else None,
            max_current_a=hardware[evse_id].max_current_a,
            default_phases=hardware[evse_id].phases, **common)

    def running(self) -> dict[int, str]:
        """EVSE id -> the transaction running there.

        From the TransactionEvents this session saw, and for an EVSE without one from its
        stored TxProfiles: a TxProfile is deleted when its transaction's Ended event passes
        (K02.FR.05), so one in storage belongs to a transaction that still runs, e.g. across a
        restart of this process, which forgets the transactions whose events were all
        acknowledged (K06.FR.01: the TxProfile stays in use).
        """
        running = {e: t for t, e in self.ongoing.items()}
        for stored in self.profiles.values():
            if stored.purpose == TX_PROFILE and stored.evse_id not in running:
                running[stored.evse_id] = stored.transaction_id
        return running

    def _profiles_for(self, evse_id: int | None,
                      running: dict[int, str]) -> list[tuple[int, ChargingProfileType]]:
        """(EVSE id, profile) installed on 0 and ``evse_id`` (None: every EVSE); a TxProfile
        only while its transaction runs on its EVSE (K02.FR.04, K08.FR.06)."""
        out = []
        for stored in self.profiles.values():
            if evse_id is not None and stored.evse_id not in (0, evse_id):
                continue
            if stored.purpose == TX_PROFILE and \
                    running.get(stored.evse_id) != stored.transaction_id:
                continue
            out.append((stored.evse_id, stored.profile))
        return out

    # -- energy sinks ----------------------------------------------------------------------------

    def publish(self) -> None:
        """Send every EnergySink its composite schedule now (see the module docstring).

        With no profile installed, and none at the last publication, nothing limits any EVSE
        below its hardware maximum, which is what a sink without a schedule applies: nothing
        is sent then (a station without smart charging exchanges no messages for it).
        """
        self._next_publish = (self._session.now + self.interval_s if self.interval_s > 0
                              else None)
        limited = bool(self.profiles)
        if not limited and not self._limited:
            return
        self._limited = limited
        now = self._clock()
        charging = sorted(self.running())
        for evse_id in [0, *self._hardware]:
            schedule = self.composite(evse_id, now, self.duration_s, self.unit, total=False)
            self._session.send_to_actor(("energy_sink", evse_id), CompositeScheduleUpdated(
                evse_id=evse_id, schedule=schedule, computed_at=iso(now),
                charging_evses=charging if evse_id == 0 else []))

    def publish_soon(self) -> None:
        """Publish at the session's next tick: the changes of one batch of frames (a CSMS
        setting many profiles at once) cost one publication, not one each."""
        self._next_publish = self._session.now

    def _publish_due(self) -> None:
        self.publish()

    # -- K11-K13 external limits -----------------------------------------------------------------

    def set_external_limit(self, evse_id: int, limit: float, unit: Unit | str,
                           source: Source | str) -> str | None:
        """An external system limits ``evse_id`` (0: the station) to ``limit`` ``unit``.

        Returns:
            None when done, else why not (unknown EVSE, unit not supported, source CSO).
        """
        error = self._external_error(evse_id, unit, source)
        if error is not None:
            return error
        if limit < 0:
            return "the limit must not be negative"
        source = Source(source)
        now = self._clock()
        pid = external_profile_id(evse_id)
        previous = self.profiles.get(pid)
        profile = ChargingProfileType(
            id=pid, stack_level=0, charging_profile_purpose=EXTERNAL,
            charging_profile_kind=ChargingProfileKindEnumType.absolute,
            charging_schedule=(ChargingScheduleType(
                id=pid, start_schedule=iso(now), charging_rate_unit=Unit(unit),
                charging_schedule_period=(ChargingSchedulePeriodType(start_period=0,
                                                                     limit=float(limit)),)),))
        self._install(StoredProfile(evse_id, profile, source))              # durable, like libocpp
        if self._significant(previous, profile):
            self._notify_limit(evse_id, profile, source)                    # K11.FR.02, K12.FR.02
        self.publish_soon()                                                 # K11.FR.01, K12.FR.01
        return None

    def clear_external_limit(self, evse_id: int, source: str) -> str | None:
        """The external system released its limit on ``evse_id``; None when done, else why not."""
        pid = external_profile_id(evse_id)
        stored = self.profiles.get(pid)
        if stored is None or (evse_id != 0 and evse_id not in self._hardware):
            return f"no external limit on EVSE {evse_id}"
        self._remove([pid])                                                 # K13.FR.01
        self._sender.send("ClearedChargingLimit", ClearedChargingLimitRequest(  # K13.FR.02
            charging_limit_source=stored.source, evse_id=evse_id or None))
        self.publish_soon()
        return None

    def external_limits(self) -> list[StoredProfile]:
        return [p for p in self.profiles.values() if p.purpose == EXTERNAL]

    def _external_error(self, evse_id: int, unit: Unit | str, source: Source | str) -> str | None:
        if evse_id != 0 and evse_id not in self._hardware:
            return f"EVSE {evse_id} does not exist"
        if unit not in (Unit.a, Unit.w):
            return f"unit {unit} is not A or W"
        if source == Source.cso:
            return "an external limit cannot have source CSO"               # K11.FR.05
        if not self._dm.get_bool("SmartChargingCtrlr", "ExternalControlSignalsEnabled",
                                 default=True):
            return "external control signals are disabled (ExternalControlSignalsEnabled)"
        return None

    def _significant(self, previous: StoredProfile | None, profile: ChargingProfileType) -> bool:
        """SC.03, K11.FR.02: a change below LimitChangeSignificance percent may stay quiet."""
        if previous is None:
            return True
        old = previous.profile.charging_schedule[0]
        new = profile.charging_schedule[0]
        if old.charging_rate_unit != new.charging_rate_unit:
            return True
        before = old.charging_schedule_period[0].limit
        after = new.charging_schedule_period[0].limit
        significance = self._dm.get_float("SmartChargingCtrlr", "LimitChangeSignificance",
                                          default=0.0) or 0.0
        if before == 0:
            return after != 0
        return abs(after - before) / before * 100.0 > significance

    def _notify_limit(self, evse_id: int, profile: ChargingProfileType, source: Source) -> None:
        with_schedules = self._dm.get_bool("SmartChargingCtrlr",
                                           "NotifyChargingLimitWithSchedules", default=False)
        self._sender.send("NotifyChargingLimit", NotifyChargingLimitRequest(
            charging_limit=ChargingLimitType(charging_limit_source=source),  # K11.FR.05
            evse_id=evse_id or None,
            charging_schedule=profile.charging_schedule if with_schedules else None))  # K11.FR.03



def _composite_rejected(reason: str) -> GetCompositeScheduleResponse:
    return GetCompositeScheduleResponse(status=GenericStatusEnumType.rejected,
                                        status_info=StatusInfoType(reason_code=reason))
