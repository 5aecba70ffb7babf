"""Tests for simulators/csms/cli.py: the command line of ``python -m simulators.csms``.

Running it as a process is tested in tests/io/test_csms_server.py.
"""

from __future__ import annotations

import pytest

from simulators.csms.cli import parse_args


def test_defaults_match_the_readme():
    args = parse_args([])
    assert (args.host, args.port, args.port_file, args.password, args.boot_status,
            args.heartbeat_interval) == ("127.0.0.1", 9000, None, [], "Accepted", 300)


def test_passwords_are_identity_password_pairs_and_may_repeat():
    args = parse_args(["--password", "CS001=a=b", "--password", "CS002="])
    assert dict(args.password) == {"CS001": "a=b", "CS002": ""}


@pytest.mark.parametrize("argv", [["--password", "nopassword"], ["--password", "=pw"],
                                  ["--boot-status", "Maybe"]])
def test_a_wrong_argument_exits_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2
    assert "usage: python -m simulators.csms" in capsys.readouterr().err
