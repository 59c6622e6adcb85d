"""The one incident every tool's seed ticket describes (each in its tool's own JSON shape)."""

from __future__ import annotations

SUBJECT = "VPN drops every few minutes for the finance team"
DESCRIPTION = (
    "Since this morning the VPN disconnects every 5-10 minutes for everyone in finance. "
    "Gateway vpn-gw01.corp.example.com (10.20.0.1) stops answering pings, and the payroll "
    "server 10.20.4.17 is unreachable in between. Month-end close is blocked."
)
REQUESTER = "Dana Fields"
REQUESTER_EMAIL = "dana@example.com"
