"""Moved to :mod:`config.station` (the lowest layer); this name stays for branches written
before the move. New code imports ``config.station``."""
from config.station import (DEFAULT_CONFIG_PATH, PROJECT_DIR, ConfigError,  # noqa: F401
                            OcppSection, StationConfig, load_config, parse_config)
