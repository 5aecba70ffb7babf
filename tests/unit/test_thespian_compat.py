"""station.thespian_compat: the patches' Thespian attributes are checked before patching, and
a missing one is named (issue #9)."""
from __future__ import annotations

import logging

import pytest
from thespian.system import multiprocCommon
from thespian.system.transport import TransmitIntent
from thespian.system.transport.TCPTransport import TCPTransport

from station import thespian_compat
from station.thespian_compat import THESPIAN_VERSION, ThespianIncompatible, check_thespian


def test_the_installed_thespian_is_the_pinned_one_and_passes():
    from importlib import metadata

    assert metadata.version("thespian") == THESPIAN_VERSION
    check_thespian()


def test_setup_cfg_pins_that_version():
    from station.config import PROJECT_DIR

    assert f"thespian=={THESPIAN_VERSION}" in (PROJECT_DIR / "setup.cfg").read_text()


def test_a_missing_method_is_named(monkeypatch):
    monkeypatch.delattr(TCPTransport, "_processIntentTimeouts")
    with pytest.raises(ThespianIncompatible, match=r"TCPTransport\._processIntentTimeouts"):
        check_thespian()


def test_a_renamed_instance_attribute_is_named(monkeypatch):
    real = thespian_compat.names_used_by

    def renamed(cls):
        names = real(cls)
        return names - {"_waitingTransmits"} if cls is TCPTransport else names

    monkeypatch.setattr(thespian_compat, "names_used_by", renamed)
    with pytest.raises(ThespianIncompatible, match="_waitingTransmits"):
        check_thespian()


def test_a_moved_retry_period_argument_is_named(monkeypatch):
    def init(self, targetAddr, msg, onSuccess=None, onError=None, retryPeriod=None):
        pass

    monkeypatch.setattr(TransmitIntent, "__init__", init)
    with pytest.raises(ThespianIncompatible, match="retryPeriod"):
        check_thespian()


def test_a_missing_admin_entry_point_is_named(monkeypatch):
    monkeypatch.delattr(multiprocCommon, "startAdmin")
    with pytest.raises(ThespianIncompatible, match="startAdmin") as error:
        check_thespian()
    assert f"thespian=={THESPIAN_VERSION}" in str(error.value)


def test_another_version_with_everything_present_only_warns(monkeypatch, caplog):
    monkeypatch.setattr(thespian_compat.metadata, "version", lambda name: "4.0.2")
    with caplog.at_level(logging.WARNING, logger="station.thespian_compat"):
        check_thespian()
    assert "4.0.2" in caplog.text


def test_importing_the_patches_checks_first(monkeypatch):
    """Re-running station.actor_system's import stops at the check, before any patch."""
    import importlib

    from station import actor_system

    monkeypatch.delattr(TCPTransport, "_processIntentTimeouts")
    with pytest.raises(ThespianIncompatible):
        importlib.reload(actor_system)
