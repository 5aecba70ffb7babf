#!/usr/bin/env python3
"""Run the charging station: ``python run.py [--config FILE]``.

Exit codes: 0 after a clean stop (SIGINT/SIGTERM), 1 when the station failed while running,
2 when the configuration or the stored state cannot be used (the message says which key or
file and why).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config.station import DEFAULT_CONFIG_PATH, ConfigError, StationConfig, load_config  # noqa: E402

log = logging.getLogger("station")

START_TIMEOUT_S = 120
HEALTH_EVERY_S = 1.0


class StartupError(Exception):
    """The station cannot start; the message says why (exit code 2)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OCPP 2.0.1 charging station (1..128 EVSEs)")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH),
                        help="YAML configuration file (default: config.yaml next to run.py)")
    parser.add_argument("--demo", action="store_true",
                        help="simulated EVs arrive, charge and leave at every EVSE")
    return parser.parse_args(argv)


def prepare_storage(config: StationConfig) -> None:
    """Migrate the databases and load the device model before any actor starts.

    Doing it once here turns a bad component config, a database from a newer version or an
    unreadable path into one clear message and exit code 2, instead of 260 actors failing.
    """
    from device_model.loader import ComponentConfigError
    from device_model.model import DeviceModel
    from storage.database import MigrationError, SchemaTooNewError, open_database
    from storage.integrity import DatabaseFileError, check_database_file

    try:
        # Before the migration runner touches them: a garbage or damaged file would otherwise
        # end in a SQLite traceback (issue #9).
        check_database_file(config.core_db_path)
        check_database_file(config.device_model_db_path)
        with _naming(config.core_db_path, "CoreDatabasePath"):
            engine = open_database(config.core_db_path, config.core_migrations_dir)
            engine.dispose()
        with _naming(config.device_model_db_path, "DeviceModelDatabasePath"):
            DeviceModel.open(config.device_model_db_path, config.device_model_migrations_dir,
                             config.component_config_dir, config.connectors_per_evse,
                             parking_bay_sensor=config.evses.parking_bay_sensor,
                             signing_meter=config.evses.signing_meter).close()
    except (ComponentConfigError, SchemaTooNewError, MigrationError, DatabaseFileError) as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        raise StartupError(f"{exc.filename or ''}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _naming(path, key: str):
    """A database SQLite cannot open or write (a folder that does not exist or is read-only, a
    full disk) becomes one sentence naming the file and its ``ocpp:`` key, not a traceback."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except (sqlite3.Error, DBAPIError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StartupError(f"{path} (ocpp.{key}): cannot use the database ({reason})") from None


def run_station(config: StationConfig, boot_reason: str, stop_requested: list, *,
                demo: bool = False) -> tuple[str, str]:
    """Run the actor tree until a signal ("stopped"), a failure ("failed") or a reset the
    station asked for ("reset", with the boot reason of the next start)."""
    from app.runner import StationRunner

    runner = StationRunner(config, boot_reason=boot_reason)
    api = simulation = None
    try:
        runner.start(timeout=START_TIMEOUT_S)
        log.info("station %s running with %d EVSEs; Ctrl-C stops it",
                 config.station.identity, config.evses.count)
        if config.api.enabled:
            api = start_api(config, runner)
        if demo:
            from api.actor_gateway import ActorGateway
            from app.demo import Demo

            simulation = Demo(ActorGateway(runner.asys, runner.root,
                                           identity=config.station.identity,
                                           csms_url=config.csms.url),
                              list(range(1, config.evses.count + 1)))
            simulation.start()
        while not stop_requested:
            time.sleep(0.2)
            if runner.seconds_since_health_check() < HEALTH_EVERY_S:
                continue
            if runner.admin_gone():
                # Killed: its actors went with it (station/orphan_guard.py). Fail (exit 1) so
                # that systemd starts a fresh station.
                log.error("station failed: the actor system's admin is gone")
                return "failed", boot_reason
            health = runner.health()
            if health is None or health.error:
                log.error("station failed: %s",
                          health.error if health else "the root actor does not answer")
                return "failed", boot_reason
            if health.reset_requested:
                return "reset", health.reset_requested
        return "stopped", boot_reason
    except RuntimeError as exc:
        log.error("%s", exc)
        return "failed", boot_reason
    finally:
        if simulation is not None:
            simulation.stop()
        if api is not None:
            api.stop()
        runner.stop()


def start_api(config: StationConfig, runner):
    """The control API in this process: it runs a thread, which actors must not (STYLE §1)."""
    from api.actor_gateway import ActorGateway
    from api.server import ControlApi

    gateway = ActorGateway(runner.asys, runner.root, identity=config.station.identity,
                           csms_url=config.csms.url)
    api = ControlApi(gateway, host=config.api.host, port=config.api.port,
                     external_websocket_control=config.ocpp.EnableExternalWebsocketControl)
    api.start()
    return api


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.logging.level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    try:
        prepare_storage(config)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from station.actor_system import port_in_use

    if port_in_use(config.actor_system.bind_address, config.actor_system.admin_port):
        print(f"error: actor_system.admin_port: {config.actor_system.admin_port} is in use "
              "(is another station running?)", file=sys.stderr)
        return 2

    stop_requested = []

    def request_stop(signum, frame):
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    from station.embedded_csms import EmbeddedCsms

    csms = None
    if config.csms.url == "embedded":
        csms = EmbeddedCsms.start(config)
        config = config.model_copy(update={"csms": config.csms.model_copy(
            update={"url": csms.url})})
        log.info("embedded CSMS listening on %s (log: %s)", csms.url, csms.log_path)
    code = 0
    boot_reason = "PowerUp"
    try:
        while True:
            outcome, boot_reason = run_station(config, boot_reason, stop_requested,
                                               demo=args.demo)
            if outcome != "reset":
                code = 0 if outcome == "stopped" else 1
                break
            # B11/B12: a reset restarts every actor process; the next BootNotification says why.
            log.warning("resetting the station: restarting every actor (boot reason %s)",
                        boot_reason)
    finally:
        if csms is not None:
            csms.stop()
    log.info("station stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
