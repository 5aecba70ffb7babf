"""Actors whose functional blocks arrive in later issues; they already take their place in the
tree so that supervision, addressing and the process layout are the real ones.

* System: will handle reset, firmware update, log upload.
* SecurityActor: will hold the certificate store and security events.
"""
from __future__ import annotations

from actors.base import ChildActor


class System(ChildActor):
    role = "system"


class SecurityActor(ChildActor):
    role = "security"
