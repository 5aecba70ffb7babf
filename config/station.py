"""The station's configuration file: YAML, validated by pydantic.

A wrong key, type or value stops start-up with a message that names the key and the reason
(:class:`ConfigError`); ``run.py`` turns it into exit code 2. The ``ocpp:`` section keeps the key
names and defaults of EVerest's OCPP201 module so that an EVerest user finds what they know.

Relative paths in the ``ocpp:`` section resolve against the folder of the configuration file,
except ``DeviceModelDatabaseMigrationPath`` and ``DeviceModelConfigPath`` whose defaults name
folders shipped with this project: when such a relative path does not exist next to the config
file, it resolves against the project folder.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_DIR / "config.yaml"

MAX_EVSES = 128


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(_Section):
    identity: str = Field("CP001", min_length=1, max_length=48, pattern=r"^[A-Za-z0-9*\-_=+|@.]+$")
    vendor_name: str = Field("OpenOCPP", min_length=1, max_length=50)
    model: str = Field("PyStation", min_length=1, max_length=20)
    serial_number: str | None = Field(None, max_length=25)
    firmware_version: str | None = Field(None, max_length=50)


class CsmsSection(_Section):
    url: str = "embedded"
    security_profile: Literal[1] = 1
    basic_auth_password: str | None = Field(None, min_length=16, max_length=40)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value == "embedded":
            return value
        parsed = urlparse(value)
        if parsed.scheme != "ws":
            raise ValueError("must be 'embedded' or a ws://HOST[:PORT]/PATH URL "
                             "(security profile 1 uses plain ws://)")
        if not parsed.hostname:
            raise ValueError("has no host")
        return value.rstrip("/")


class EvsesSection(_Section):
    count: int = Field(2, ge=1, le=MAX_EVSES)
    connectors_per_evse: int = Field(1, ge=1, le=4)
    # Every simulated EVSE has a parking-bay sensor (TxStartPoint/TxStopPoint
    # ParkingBayOccupancy, E01.FR.01, E06.FR.01); the control API's /parking drives it.
    parking_bay_sensor: bool = False
    # The simulated meters sign their readings (SignReadings, J01.FR.21/J02.FR.21; TxStartPoint
    # DataSigned, E01.FR.04); false simulates meters that cannot sign.
    signing_meter: bool = True
    # The EVSE driver (evse_hw.driver): "simulated", or "package.module:factory" naming a
    # callable factory(evse_id, connectors) -> evse_hw.driver.HardwareFactory (actors/evse.py).
    driver: str = Field("simulated", pattern=r"^(simulated|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")


class OcppSection(BaseModel):
    """EVerest OCPP201 module configuration (same names, same defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    MessageLogPath: str = "/tmp/everest_ocpp_logs"
    CoreDatabasePath: str = "/tmp/ocpp201"
    DeviceModelDatabasePath: str = "device_model_storage.db"
    DeviceModelDatabaseMigrationPath: str = "device_model_migrations"
    DeviceModelConfigPath: str = "component_config"
    EnableExternalWebsocketControl: bool = False
    MessageQueueResumeDelay: int = Field(0, ge=0)
    CompositeScheduleIntervalS: int = Field(30, ge=0)
    RequestCompositeScheduleDurationS: int = Field(600, ge=1)
    RequestCompositeScheduleUnit: Literal["A", "W"] = "A"


class ActorSystemSection(_Section):
    base: Literal["multiprocTCPBase", "simpleSystemBase"] = "multiprocTCPBase"
    admin_port: int = Field(1900, ge=1, le=65535)
    # The actor system unpickles whatever reaches its sockets: it listens on loopback only,
    # unless an operator names another address for a multi-host set-up.
    bind_address: str = "127.0.0.1"

    @field_validator("bind_address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("must be an IP address (e.g. 127.0.0.1)") from None
        if address.is_unspecified:
            raise ValueError("must name one address; 0.0.0.0 would expose the actor system "
                             "(which unpickles what it receives) to every network")
        return value


class ApiSection(_Section):
    """The operators' HTTP control API (README: Control API). Loopback by default: it has no
    authentication of its own."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8180, ge=0, le=65535)   # 0 = any free port (logged at start)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("must be an IP address (e.g. 127.0.0.1)") from None
        return value


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = None


class StationConfig(_Section):
    station: StationSection = StationSection()
    csms: CsmsSection = CsmsSection()
    evses: EvsesSection = EvsesSection()
    ocpp: OcppSection = OcppSection()
    actor_system: ActorSystemSection = ActorSystemSection()
    api: ApiSection = ApiSection()
    logging: LoggingSection = LoggingSection()
    # Folder of the config file; relative paths resolve against it. Not a YAML key.
    base_dir: str = Field(default_factory=lambda: str(PROJECT_DIR), exclude=True)

    # -- resolved paths -------------------------------------------------------------------------

    def _resolve(self, value: str, *, shipped: bool = False) -> Path:
        path = Path(os.path.expanduser(value))
        if path.is_absolute():
            return path
        candidate = Path(self.base_dir) / path
        if shipped and not candidate.exists():
            return PROJECT_DIR / path
        return candidate

    @property
    def message_log_dir(self) -> Path:
        return self._resolve(self.ocpp.MessageLogPath)

    @property
    def core_db_path(self) -> Path:
        """EVerest's CoreDatabasePath is a folder; libocpp keeps ``cp.db`` in it."""
        return self._resolve(self.ocpp.CoreDatabasePath) / "cp.db"

    @property
    def device_model_db_path(self) -> Path:
        return self._resolve(self.ocpp.DeviceModelDatabasePath)

    @property
    def device_model_migrations_dir(self) -> Path:
        value = self.ocpp.DeviceModelDatabaseMigrationPath
        if value == OcppSection.model_fields["DeviceModelDatabaseMigrationPath"].default:
            # EVerest's default names the folder its installer ships; ours lives here.
            return PROJECT_DIR / "migrations" / "device_model"
        return self._resolve(value, shipped=True)

    @property
    def core_migrations_dir(self) -> Path:
        return PROJECT_DIR / "migrations" / "core"

    @property
    def component_config_dir(self) -> Path:
        return self._resolve(self.ocpp.DeviceModelConfigPath, shipped=True)

    @property
    def connectors_per_evse(self) -> list[int]:
        return [self.evses.connectors_per_evse] * self.evses.count


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        reason = item["msg"]
        if item["type"] == "extra_forbidden":
            reason = "is not a known key"
        elif item["type"] == "missing":
            reason = "is required"
        elif "input" in item and item["type"] not in ("model_type", "dict_type"):
            reason = f"{reason} (got {item['input']!r})"
        lines.append(f"{key}: {reason}")
    return "; ".join(lines)


def parse_config(data: object, *, base_dir: str | os.PathLike | None = None,
                 source: str = "<config>") -> StationConfig:
    """Validate an already-parsed YAML document.

    Raises:
        ConfigError: naming the file, key and reason.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, "
                          f"got {type(data).__name__}")
    if "base_dir" in data:
        raise ConfigError(f"{source}: base_dir: is not a known key")
    payload = dict(data)
    payload["base_dir"] = str(base_dir if base_dir is not None else PROJECT_DIR)
    try:
        return StationConfig.model_validate(payload)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def load_config(path: str | os.PathLike | None = None) -> StationConfig:
    """Read and validate the YAML configuration file.

    Raises:
        ConfigError: the file is missing, not YAML, or a key is wrong.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, source=str(path))
