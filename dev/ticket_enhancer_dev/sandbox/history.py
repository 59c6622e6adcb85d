"""A tool-neutral, deterministic IT history and knowledge base that each tool module renders in its
own JSON shapes (``sandbox/tools/<tool>.py``): a few hundred resolved tickets with resolutions,
categories, groups and priorities across three scopes (projects / organisations / companies ...),
and a few dozen articles.

Generated from a fixed seed, so every run serves the same records; times are counted back from
today's midnight (UTC), so a sync of "the last 180 days" always finds most of them. Some tickets
end with one of our own notes (footer ``models.NOTE_FOOTER_PREFIX``) or with a thank-you from the
requester, and a few records are malformed: what a sync must skip, count or see through.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ticket_enhancer.models import NOTE_FOOTER_PREFIX

__all__ = ["ARTICLES", "CASES", "SCOPES", "SandboxArticle", "SandboxCase", "anchor", "articles", "cases"]

SEED = 16
HISTORY_SIZE = 300
SCOPES = ("Acme Finance", "Acme Sales", "Acme Engineering")
PRIORITIES = ("critical", "high", "medium", "low")
GROUPS = {
    "network": "Network Operations",
    "access": "Identity and Access",
    "workplace": "Desktop Support",
    "email": "Messaging",
    "servers": "Server Operations",
}
OUR_NOTE = (
    "<p>Similar tickets: none found.</p><p><small>" + NOTE_FOOTER_PREFIX + "01JSANDBOX{n:06d}</small></p>"
)
THANKS = "Thanks, that fixed it!"


@dataclass(frozen=True, slots=True)
class SandboxCase:
    """One resolved ticket, before a tool gives it its shape."""

    n: int
    subject: str
    description: str
    resolution: str
    category: str
    group: str
    priority: str  # one of PRIORITIES
    scope: int  # index into SCOPES
    created: datetime
    resolved: datetime
    requester: str
    agent: str
    our_note_last: bool  # one of our notes is the last comment (must never be the resolution)
    requester_last: bool  # the requester said thanks after the fix (not a resolution either)
    malformed: bool  # the tool module renders this record broken

    @property
    def scope_name(self) -> str:
        return SCOPES[self.scope]


@dataclass(frozen=True, slots=True)
class SandboxArticle:
    n: int
    title: str
    html: str  # the body as the tool stores it (HTML, with the odd script and entity)
    published: bool
    malformed: bool


# topic: (category, group key, subjects, description, resolution)
_TOPICS: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    (
        "Network",
        "network",
        ("VPN drops every few minutes", "VPN will not connect from home", "VPN slow for {team}"),
        "The VPN to vpn-gw0{k}.corp.example.com disconnects every few"
        " minutes; {host} is unreachable meanwhile.",
        "Raised the IKE rekey timer on vpn-gw0{k} to 8h and lowered"
        " the tunnel MTU to 1380; sessions stable since.",
    ),
    (
        "Access",
        "access",
        ("Password reset for {user}", "Account locked out after password change", "MFA prompt loops"),
        "{user} cannot sign in: the account reports locked after the password was changed on the phone.",
        "Unlocked the account in AD, removed the stale password from the phone's mail profile, reset MFA.",
    ),
    (
        "Hardware",
        "workplace",
        (
            "Printer PRN-{k}F prints blank pages",
            "Print queue stuck on PRN-{k}F",
            "Printer offline on floor {k}",
        ),
        "Jobs sent to PRN-{k}F come out blank (or stay queued) since the toner was replaced.",
        "Removed the toner's protective seal, cleared the spooler on print-srv0{k} and reprinted the queue.",
    ),
    (
        "Email",
        "email",
        (
            "Shared mailbox not syncing in Outlook",
            "Emails to {team} bounce with 550 5.7.1",
            "Calendar invites missing",
        ),
        "Mail for the {team} shared mailbox stopped syncing; Outlook"
        " shows 'Disconnected'. Bounce 550 5.7.1 seen.",
        "Re-granted FullAccess on the shared mailbox, rebuilt the OST"
        " and fixed the transport rule causing 550 5.7.1.",
    ),
    (
        "Servers",
        "servers",
        ("Disk full on {host}", "/var at 100% on {host}", "Backups failing: no space left on {host}"),
        "Monitoring reports the data disk of {host} at 100%; the application writes fail with ENOSPC.",
        "Rotated and compressed the application logs on {host},"
        " added logrotate, extended the volume by 50 GB.",
    ),
    (
        "Security",
        "servers",
        (
            "Certificate expired on {site}",
            "TLS certificate expiry warning for {site}",
            "Browser warns about {site}",
        ),
        "Users get NET::ERR_CERT_DATE_INVALID on https://{site}; the certificate expired last night.",
        "Renewed the certificate for {site}, deployed the full chain on"
        " the load balancer and enabled auto-renewal.",
    ),
    (
        "Network",
        "network",
        ("Network outage in building {k}", "No connectivity on 10.{k}0.0.0/16", "Switch sw-b{k}-core down"),
        "Nothing on 10.{k}0.0.0/16 answers; gateway 10.{k}0.0.1 does"
        " not reply to ping; floor switches blink amber.",
        "Replaced the failed uplink SFP on sw-b{k}-core and restored the"
        " 10.{k}0.0.1 gateway; spanning tree re-converged.",
    ),
    (
        "Hardware",
        "workplace",
        ("Laptop will not boot", "Laptop battery swollen", "Laptop screen flickers"),
        "{user}'s laptop LT-{k}{k}42 shows a black screen after the BIOS logo, or the battery bulges.",
        "Swapped the laptop LT-{k}{k}42 for a loaner, reimaged it and replaced the battery under warranty.",
    ),
    (
        "Access",
        "access",
        ("Access request: {team} share", "Need access to the payroll app", "Add {user} to the {team} group"),
        "Please give {user} read/write access to the {team} share \\\\files01\\{team} for the quarter close.",
        "Added {user} to the {team}-RW group after the manager's approval; access works after re-login.",
    ),
)
_TEAMS = ("finance", "sales", "engineering", "marketing", "legal")
_USERS = ("dana", "lee", "sam", "noor", "alex", "kim", "jo", "ravi")
_AGENTS = ("Priya Agent", "Tom Agent", "Mia Agent")
_HOSTS = ("db-prod-0{k}", "app0{k}.corp.example.com", "10.20.4.1{k}", "fs0{k}")
_SITES = ("intranet.example.com", "payroll.example.com", "wiki.example.com")


@functools.cache
def anchor() -> datetime:
    """Today's midnight, UTC: the history is counted back from it."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@functools.cache
def cases(size: int = HISTORY_SIZE) -> tuple[SandboxCase, ...]:
    rng = random.Random(SEED)  # noqa: S311 # nosec B311 # sample data, not security
    found: list[SandboxCase] = []
    for n in range(size):
        category, group, subjects, description, resolution = rng.choice(_TOPICS)
        words = {
            "k": str(rng.randint(1, 6)),
            "team": rng.choice(_TEAMS),
            "user": rng.choice(_USERS),
            "site": rng.choice(_SITES),
        }
        words["host"] = rng.choice(_HOSTS).format(**words)
        created = anchor() - timedelta(days=170 * (size - n) / size + 1, minutes=rng.randint(0, 600))
        found.append(
            SandboxCase(
                n=n,
                subject=rng.choice(subjects).format(**words),
                description=description.format(**words),
                resolution=resolution.format(**words),
                category=category,
                group=GROUPS[group],
                priority=rng.choices(PRIORITIES, weights=(1, 3, 5, 2))[0],
                scope=rng.randrange(len(SCOPES)),
                created=created,
                resolved=min(created + timedelta(hours=rng.randint(1, 72)), anchor()),
                requester=words["user"],
                agent=rng.choice(_AGENTS),
                our_note_last=n % 17 == 3,
                requester_last=n % 11 == 5,
                malformed=n in (7, 131, 262),
            )
        )
    return tuple(found)


_ARTICLE_TOPICS = (
    (
        "VPN disconnects: check IKE rekey and MTU",
        "IKE/IPsec rekey timers on the VPN gateway and the tunnel MTU",
    ),
    ("Resetting a locked account", "unlock in AD, clear stale passwords on phones, reset MFA"),
    ("Printer prints blank pages", "remove the toner seal, clear the spooler on the print server"),
    ("Shared mailbox not syncing", "re-grant FullAccess, rebuild the OST, check transport rules (550 5.7.1)"),
    ("Disk full on a Linux server", "find large files with du, rotate logs, extend the LVM volume"),
    ("Renewing TLS certificates", "renew, deploy the full chain on the load balancer, enable auto-renewal"),
    ("Network outage checklist", "check the uplink SFP, the core switch, the gateway and spanning tree"),
    ("Laptop will not boot", "hold power 30 s, boot to diagnostics, swap for a loaner, reimage"),
    ("Requesting access to a share", "the manager approves; the service desk adds the user to the RW group"),
    ("Setting up MFA on a new phone", "register the authenticator, remove the old device"),
)


@functools.cache
def articles(size: int = 36) -> tuple[SandboxArticle, ...]:
    found: list[SandboxArticle] = []
    for n in range(size):
        title, gist = _ARTICLE_TOPICS[n % len(_ARTICLE_TOPICS)]
        part = n // len(_ARTICLE_TOPICS)
        if part:
            title = f"{title} (part {part + 1})"
        body = (
            f"<h2>{title}</h2><p>When this happens: {gist}.</p>"
            "<ol><li>Check the monitoring for the host or address named in the ticket.</li>"
            "<li>Follow the steps above &amp; note what you changed.</li></ol>"
        )
        if n % 9 == 4:  # what an editor pasted: must never reach a note as markup
            body += (
                "<script>alert('x')</script><style>p{color:red}</style><p>Use &lt;b&gt; tags sparingly.</p>"
            )
        found.append(
            SandboxArticle(n=n, title=title, html=body, published=n % 12 != 11, malformed=n in (5, 23))
        )
    return tuple(found)


CASES = cases
ARTICLES = articles
