"""Zoho's accounts servers (OAuth for ServiceDesk Plus Cloud), as Zoho documents them.

``POST https://<accounts host>/oauth/v2/token`` with ``grant_type=refresh_token``, ``client_id``,
``client_secret``, ``refresh_token`` answers ``{"access_token", "api_domain", "token_type":
"Bearer", "expires_in": 3600}``. Limits (Zoho's "Token Validity"): at most 10 access tokens per
refresh token in 10 minutes, past which the answer is still HTTP 200 but ``{"error": "Access
Denied", ...}``; at most 15 alive per refresh token, the 16th invalidating the oldest. Each data
centre has its own accounts host (``plugins.servicedesk_plus.datacentres``); a call to another host
is not Zoho's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from ticket_enhancer_dev.sandbox.model import Answer

WINDOW_SECONDS = 600.0
PER_WINDOW = 10
ALIVE = 15


class ZohoAccounts:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._issued = 0
        self._recent: dict[str, deque[float]] = {}  # refresh token -> when its tokens were issued
        self._alive: dict[str, deque[str]] = {}  # refresh token -> its live access tokens
        self.requests: list[tuple[str, dict[str, str]]] = []  # (accounts host, form)
        self.refuse_next = 0  # the next answers say "Access Denied" whatever the count (tests)

    def token(self, host: str, form: Mapping[str, str]) -> Answer:
        with self._lock:
            self.requests.append((host, dict(form)))
            refresh = form.get("refresh_token", "")
            if form.get("grant_type") != "refresh_token" or not form.get("client_id") or not refresh:
                return Answer(200, {"error": "invalid_client"})
            now = self._clock()
            recent = self._recent.setdefault(refresh, deque())
            while recent and recent[0] <= now - WINDOW_SECONDS:
                recent.popleft()
            if self.refuse_next or len(recent) >= PER_WINDOW:
                self.refuse_next = max(0, self.refuse_next - 1)
                return Answer(
                    200,
                    {
                        "error_description": "You have made too many requests continuously. "
                        "Please try again after some time.",
                        "error": "Access Denied",
                        "status": "failure",
                    },
                )
            recent.append(now)
            self._issued += 1
            token = f"zoho-access-token-{self._issued}"
            alive = self._alive.setdefault(refresh, deque())
            alive.append(token)
            while len(alive) > ALIVE:  # the 16th invalidates the oldest
                alive.popleft()
            return Answer(
                200,
                {
                    "access_token": token,
                    "api_domain": "https://www.zohoapis.com",
                    "token_type": "Bearer",  # nosec B105 # the OAuth token type, not a password
                    "expires_in": 3600,
                },
            )

    def active(self, token: str) -> bool:
        with self._lock:
            return any(token in alive for alive in self._alive.values())

    def revoke(self, token: str) -> None:
        with self._lock:
            for alive in self._alive.values():
                if token in alive:
                    alive.remove(token)
