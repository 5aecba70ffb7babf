"""Tests for simulators/csms/handshake.py: who may connect (part 4 §3, security profile 1)."""

from __future__ import annotations

import base64

import pytest

from simulators.csms.handshake import check_request, identity_of, parse_basic

PASSWORDS = {"CS001": "s3cret-password-16"}


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class TestIdentity:
    @pytest.mark.parametrize("path, identity", [
        ("/ocpp/CS001", "CS001"),
        ("/ocpp/RDAM%20123", "RDAM 123"),
        ("/CS001/", "CS001"),
        ("/ocpp/CS001?x=1", "CS001"),
        ("/", ""),
    ])
    def test_identity_is_the_last_url_segment_percent_decoded(self, path, identity):
        assert identity_of(path) == identity

    @pytest.mark.parametrize("path", ["/", "/ocpp/a%3Ab", "/" + "x" * 49])
    def test_an_invalid_identity_gets_404(self, path):
        # part 4 §3.1.1: identifierString[48] without ':'.
        assert check_request(path, None, None).status == 404

    def test_any_valid_identity_is_accepted_without_passwords(self):
        assert check_request("/ocpp/" + "x" * 48, None, None) is None


class TestBasicAuth:
    def test_right_credentials_are_accepted(self):
        assert check_request("/CS001", basic("CS001", "s3cret-password-16"), PASSWORDS) is None

    @pytest.mark.parametrize("header, why", [
        (None, "missing credentials"),
        ("Bearer abc", "malformed Authorization header"),
        (basic("CS001", "wrong"), "wrong username or password"),
        (basic("CS002", "s3cret-password-16"), "wrong username or password"),
    ])
    def test_missing_or_wrong_credentials_get_401(self, header, why):
        refusal = check_request("/CS001", header, PASSWORDS)
        assert (refusal.status, refusal.identity, refusal.why) == (401, "CS001", why)

    def test_unknown_identity_gets_404(self):
        # part 4 §3.2: the CSMS does not recognize the identifier.
        assert check_request("/CS999", basic("CS999", "x"), PASSWORDS).status == 404

    @pytest.mark.parametrize("header, expected", [
        (basic("a", "b:c"), ("a", "b:c")),
        ("basic " + base64.b64encode(b"a:").decode(), ("a", "")),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Basic !!!", None),
        ("Basic " + base64.b64encode(b"\xff:x").decode(), None),
        ("Digest abc", None),
    ])
    def test_parse_basic(self, header, expected):
        assert parse_basic(header) == expected
