"""deploy/ocpp-station.service brings a failed station back (issue #9: after the Root's
crash-loop escalation the station exited 1 and stayed down)."""
from __future__ import annotations

import configparser
import shlex

import pytest

from station.config import PROJECT_DIR

UNIT = PROJECT_DIR / "deploy" / "ocpp-station.service"


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str                      # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


class TestStationUnit:
    def test_it_runs_run_py_with_a_config(self, unit):
        argv = shlex.split(unit["Service"]["ExecStart"])
        assert argv[0].endswith("python") and argv[1].endswith("/run.py")
        assert argv[2] == "--config"

    def test_a_failure_is_restarted_after_a_back_off(self, unit):
        service = unit["Service"]
        assert service["Restart"] == "on-failure"
        assert int(service["RestartSec"]) >= 5
        # systemd >= 254: the wait grows to RestartMaxDelaySec over RestartSteps restarts.
        assert int(service["RestartSteps"]) > 0
        assert int(service["RestartMaxDelaySec"]) > int(service["RestartSec"])

    def test_systemd_never_gives_up(self, unit):
        """A start-rate limit, once reached, leaves the unit failed for good."""
        assert unit["Unit"]["StartLimitIntervalSec"] == "0"

    def test_a_configuration_error_is_not_restarted(self, unit):
        """Exit code 2 (run.py's docstring): a bad config or database needs an operator."""
        assert unit["Service"]["RestartPreventExitStatus"] == "2"

    def test_stop_lets_run_py_stop_the_actors(self, unit):
        service = unit["Service"]
        assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"

    def test_it_starts_at_boot(self, unit):
        assert unit["Install"]["WantedBy"] == "multi-user.target"
