"""Who may open a websocket to the test CSMS (part 4 §3.1, §3.2; part 2 A00), without I/O.

The identity is the last, percent-decoded segment of the URL path. When the
CSMS has passwords, HTTP Basic auth is required with username == identity
(security profile 1): a missing or wrong credential gets 401, and an identity
without a password entry gets 404 ("CSMS does not recognize the identifier",
§3.2). The subprotocol rule (§3.2) is applied by the server after the
handshake, since the handshake itself still completes without one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import http
import urllib.parse

SUBPROTOCOL = "ocpp2.0.1"
MAX_IDENTITY = 48            # part 4 §3.1.1


@dataclasses.dataclass(frozen=True)
class Refusal:
    """An HTTP answer that ends the handshake.

    Attributes:
        status: 404 or 401.
        identity: the identity (or the path, when it has none) for the log.
        why: the response body, without the newline.
    """

    status: http.HTTPStatus
    identity: str
    why: str


def identity_of(path: str) -> str:
    """The station identity in a connection URL path ('' when there is none)."""
    path = path.split("?", 1)[0].rstrip("/")
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(username, password)`` of an ``Authorization: Basic`` value, None if malformed."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def check_request(path: str, authorization: str | None,
                  passwords: dict[str, str] | None) -> Refusal | None:
    """Decide whether a websocket upgrade request may proceed.

    Args:
        path: the request path.
        authorization: the Authorization header, None when absent.
        passwords: identity -> BasicAuthPassword; None accepts any identity
            without credentials.

    Returns:
        None to accept, else the refusal to send.
    """
    identity = identity_of(path)
    if not identity or ":" in identity or len(identity) > MAX_IDENTITY:
        # part 4 §3.1.1: identifierString[48] without ':' (it is the auth username).
        return Refusal(http.HTTPStatus.NOT_FOUND, identity or path,
                       "invalid charging station identity")
    if passwords is None:
        return None
    if identity not in passwords:
        return Refusal(http.HTTPStatus.NOT_FOUND, identity, "unknown charging station")
    if authorization is None:
        return Refusal(http.HTTPStatus.UNAUTHORIZED, identity, "missing credentials")
    credentials = parse_basic(authorization)
    if credentials is None:
        return Refusal(http.HTTPStatus.UNAUTHORIZED, identity, "malformed Authorization header")
    username, password = credentials
    expected = passwords[identity].encode()
    # Security profile 1: username is the identity of the connection URL.
    if username != identity or not hmac.compare_digest(password.encode(), expected):
        return Refusal(http.HTTPStatus.UNAUTHORIZED, identity, "wrong username or password")
    return None
