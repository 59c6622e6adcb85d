"""Write ``evaluation/tickets.jsonl``: the labelled evaluation set (deterministic: seeded).

``python -m evaluation.generate`` rewrites the file; ``--check`` fails when it differs from what
this script makes. See ``evaluation/README.md`` for what the set holds and how it is split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "tickets.jsonl"
SEED = 17
TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")
HISTORY_PER_TOOL = 40  # plus one burst of 4 and two pairs
SINGLES_PER_TOOL = 14  # test tickets that duplicate nothing
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Theme:
    key: str
    category: str
    group: str
    priority: str
    subjects: tuple[str, ...]
    symptom: tuple[str, ...]  # the sentence that says what is wrong ({host}, {code}, {ip} slots)
    fact: str  # a phrase of the symptom sentence that a summary must keep


THEMES = (
    Theme(
        "vpn",
        "Network",
        "Network Operations",
        "High",
        ("VPN disconnects", "Cannot connect to VPN", "VPN keeps dropping"),
        (
            "Since this morning the AnyConnect client cannot connect to the VPN gateway {host} "
            "and shows {code}.",
            "The VPN tunnel to {host} drops every few minutes with {code}.",
        ),
        "VPN",
    ),
    Theme(
        "printer",
        "Hardware",
        "Desktop Support",
        "Low",
        ("Printer not printing", "Printer jammed", "Print jobs stuck"),
        (
            "The printer {host} on the second floor accepts jobs but prints nothing; the panel shows {code}.",
            "Print jobs to {host} stay in the queue forever with {code}.",
        ),
        "print",
    ),
    Theme(
        "email",
        "Email",
        "Messaging",
        "Medium",
        ("Outlook not receiving mail", "Emails bouncing", "Mail delivery failure"),
        (
            "Outgoing mail to external domains bounces with {code} from relay {host}.",
            "Outlook stopped receiving new mail since 9:00 and the relay {host} logs {code}.",
        ),
        "mail",
    ),
    Theme(
        "password",
        "Access",
        "Identity Team",
        "Medium",
        ("Password reset needed", "Account locked out", "Cannot log in after password change"),
        (
            "My account is locked after the password change and the sign-in page on {host} shows {code}.",
            "Login to {host} fails with {code} even after resetting the password.",
        ),
        "password",
    ),
    Theme(
        "database",
        "Database",
        "DBA Team",
        "Critical",
        (
            "Database errors in billing app",
            "Billing app cannot reach database",
            "Database connection failures",
        ),
        (
            "The billing application fails to query database server {host} ({ip}) with {code}.",
            "Every invoice run aborts because the database on {host} returns {code}.",
        ),
        "database",
    ),
    Theme(
        "disk",
        "Infrastructure",
        "Server Team",
        "High",
        ("Disk full on server", "Low disk space alert", "Server out of disk space"),
        (
            "Monitoring reports the data volume of {host} ({ip}) is 99% full and the backup job "
            "fails with {code}.",
            "The log partition on {host} filled up overnight and services stop with {code}.",
        ),
        "disk",
    ),
    Theme(
        "wifi",
        "Network",
        "Network Operations",
        "Medium",
        ("Wi-Fi unstable in meeting rooms", "No wireless connection", "Wireless keeps disconnecting"),
        (
            "Laptops in the meeting rooms lose the wireless network every few minutes; "
            "controller {host} logs {code}.",
            "The guest Wi-Fi served by {host} ({ip}) rejects clients with {code}.",
        ),
        "wireless",
    ),
    Theme(
        "software",
        "Software",
        "Desktop Support",
        "Low",
        ("Install request for software", "Application install fails", "Software deployment error"),
        (
            "The installer for the design suite fails with {code} when run from the share on {host}.",
            "Software Center cannot install the update from {host} and reports {code}.",
        ),
        "install",
    ),
    Theme(
        "web",
        "Application",
        "Web Team",
        "High",
        ("Intranet site down", "Website returns errors", "Portal unavailable"),
        (
            "The intranet portal {host} returns {code} for every page since the last deployment.",
            "Customers see {code} when they open the portal at {host} ({ip}).",
        ),
        "portal",
    ),
    Theme(
        "phishing",
        "Security",
        "Security Operations",
        "High",
        ("Suspicious email received", "Possible phishing", "Phishing attempt reported"),
        (
            "I received an email asking me to confirm my credentials on {host}; the link shows {code} now.",
            "Several colleagues got a fake invoice mail linking to {host}, blocked by the proxy with {code}.",
        ),
        "email",
    ),
)
CODES = {
    "vpn": ("error 809", "error 0x80072EE7", "AADSTS50076"),
    "printer": ("error 0x0000011b", "event id 372", "error 49.4C02"),
    "email": ("SMTP 550", "error 0x800CCC0E", "SMTP 554"),
    "password": ("AADSTS50053", "error 0xC000006A", "AADSTS50126"),
    "database": ("ORA-12541", "ORA-00942", "SQLSTATE 08001"),
    "disk": ("error 0x80070070", "exit code 28", "ERR_DISK_FULL"),
    "wifi": ("event id 8003", "error 0x80004005", "EAP_FAILURE"),
    "software": ("error 1603", "error 0x87D00324", "exit code 1618"),
    "web": ("HTTP 503", "HTTP 502", "ERR_CONNECTION_RESET"),
    "phishing": ("ERR_BLOCKED_BY_CLIENT", "HTTP 403", "ERR_CERT_AUTHORITY_INVALID"),
}
FOREIGN = {  # a few themes as other languages' users write them
    "de": {
        "vpn": (
            "VPN trennt ständig",
            "Seit heute Morgen trennt der AnyConnect Client die VPN Verbindung zu {host} mit {code}.",
        ),
        "printer": (
            "Drucker druckt nicht",
            "Der Drucker {host} im zweiten Stock nimmt Aufträge an, druckt aber nichts; {code}.",
        ),
        "password": (
            "Konto gesperrt",
            "Mein Konto ist nach der Passwortänderung gesperrt, die Anmeldung an {host} zeigt {code}.",
        ),
    },
    "fr": {
        "vpn": (
            "VPN se déconnecte",
            "Depuis ce matin le client AnyConnect ne se connecte plus au VPN {host} et affiche {code}.",
        ),
        "email": (
            "Courriels rejetés",
            "Les courriels vers l'extérieur sont rejetés avec {code} par le relais {host}.",
        ),
    },
    "es": {
        "printer": (
            "La impresora no imprime",
            "La impresora {host} de la segunda planta acepta trabajos pero no imprime nada; {code}.",
        ),
        "web": (
            "Portal caído",
            "El portal {host} devuelve {code} en todas las páginas desde el último despliegue.",
        ),
    },
}
FILLER = (
    "I already restarted my laptop twice.",
    "It worked fine yesterday afternoon.",
    "Please let me know if you need more information.",
    "This is blocking my work today.",
    "I am working from the Lisbon office this week.",
    "A colleague said it might be related to the update on Friday.",
)
GREETINGS = ("Hi team,", "Hello,", "Good morning,", "")
SIGNOFFS = ("Thanks, {name}", "Kind regards, {name}", "Best, {name}", "")
NAMES = ("Dana Fields", "Sam Okafor", "Mia Chen", "Luis Ortega", "Anna Berg", "Tom Novak", "Priya Nair")
PHONES = (
    "+44 20 7946 {n4}",
    "+1 415 555 {n4}",
    "(415) 555-{n4}",
    "+49 30 9018{n2}",
    "030 9018{n2}",
    "+33 1 42 68 {n2} {m2}",
    "06 12 34 {n2} {m2}",
    "+34 912 345 {n3}",
    "0049 89 1234 {n3}",
)


def _luhn_complete(body: str) -> str:
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _pii(rng: random.Random, first: str, last: str, tool: str) -> tuple[str, str]:
    """A kind and a value of personal data, in the many shapes requesters write them."""
    kind = rng.choice(["email", "phone", "phone", "card", "iban", "id"])
    n = {
        "n4": f"{rng.randint(0, 9999):04d}",
        "n3": f"{rng.randint(0, 999):03d}",
        "n2": f"{rng.randint(10, 99)}",
    }
    if kind == "email":
        return kind, f"{first}.{last}{rng.choice(['', '+it', '2'])}@{tool.replace('_', '')}-corp.example"
    if kind == "phone":
        return kind, rng.choice(PHONES).format(m2=f"{rng.randint(10, 99)}", **n)
    if kind == "card":
        number = _luhn_complete(
            rng.choice(["4", "51", "52", "37"]) + "".join(rng.choices("0123456789", k=13))
        )
        number = number[:16] if number.startswith(("4", "5")) else number[:15]
        if len(number) < 16 or number.startswith("37"):
            number = _luhn_complete(number[:14])
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return kind, rng.choice([number, grouped])
    if kind == "iban":
        country, bban = rng.choice(
            [
                ("DE", "".join(rng.choices("0123456789", k=18))),
                ("NL", "ABNA" + "".join(rng.choices("0123456789", k=10))),
            ]
        )
        iban = _iban(country, bban)
        return kind, rng.choice([iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))])
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
    return kind, f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


PII_SENTENCES = (
    "You can reach me at {pii}.",
    "My details for the callback: {pii}.",
    "For the expense claim, use {pii}.",
)


def _host(rng: random.Random, theme: Theme, tool: str) -> str:
    kind = rng.choice(["gw", "srv", "app", "node"])
    return f"{theme.key}-{kind}{rng.randint(1, 40):02d}.{tool.replace('_', '')}.example"


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _tool_label(tool: str, value: str, kind: str) -> str:
    """The value as each tool spells it (so every tenant has its own vocabulary)."""
    if tool == "zendesk" and kind == "priority":
        return {"Critical": "urgent", "High": "high", "Medium": "normal", "Low": "low"}[value]
    if tool == "servicenow" and kind == "priority":
        return {"Critical": "1 - Critical", "High": "2 - High", "Medium": "3 - Moderate", "Low": "4 - Low"}[
            value
        ]
    if tool == "jira" and kind == "priority":
        return {"Critical": "Highest", "High": "High", "Medium": "Medium", "Low": "Low"}[value]
    if tool == "zammad" and kind == "group":
        return value.replace(" ", "-").lower()
    return value


def _ticket(
    rng: random.Random, tool: str, theme: Theme, *, language: str, host: str, ip: str, code: str
) -> dict[str, object]:
    name = rng.choice(NAMES)
    first, last = name.lower().split()
    slots = {"host": host, "ip": ip, "code": code}
    if language != "en":
        subject, symptom = FOREIGN[language][theme.key]
    else:
        subject, symptom = rng.choice(theme.subjects), rng.choice(theme.symptom)
    symptom = symptom.format(**slots)
    users = rng.choice(["about 30 users", "12 users", "the whole finance team", "several colleagues", ""])
    sentences = [symptom]
    if users and language == "en":
        sentences.append(f"It affects {users} at the moment.")
    sentences += rng.sample(FILLER, rng.randint(1, 3)) if language == "en" else []
    pii: list[dict[str, str]] = []
    if rng.random() < 0.6:
        kind, value = _pii(rng, first, last, tool)
        shown = f"SSN {value}" if kind == "id" else value
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(PII_SENTENCES).format(pii=shown))
        pii.append({"kind": kind, "value": value})
    greeting, signoff = rng.choice(GREETINGS), rng.choice(SIGNOFFS).format(name=name)
    description = "\n".join(part for part in (greeting, " ".join(sentences), signoff) if part)
    facts = [code, host]
    if "{ip}" in symptom or ip in symptom:
        facts.append(ip)
    if users and language == "en":
        facts.append(users.removeprefix("about ").removeprefix("the whole "))
    return {
        "subject": subject,
        "description": description,
        "requester": name,
        "language": language,
        "key_facts": facts + ([theme.fact] if language == "en" else []),
        "pii": pii,
    }


def _labels(rng: random.Random, tool: str, theme: Theme, noise: float) -> dict[str, str]:
    group, priority = theme.group, theme.priority
    if rng.random() < noise:  # tickets get re-routed, priorities argued about
        group = rng.choice([t.group for t in THEMES])
    if rng.random() < noise:
        priority = rng.choice(["Critical", "High", "Medium", "Low"])
    return {
        "category": theme.category,
        "group": _tool_label(tool, group, "group"),
        "priority": _tool_label(tool, priority, "priority"),
    }


def _language(rng: random.Random, theme: Theme) -> str:
    choices = [lang for lang, themes in FOREIGN.items() if theme.key in themes]
    return rng.choice(choices) if choices and rng.random() < 0.25 else "en"


def generate() -> list[dict[str, object]]:
    rng = random.Random(SEED)  # noqa: S311 (test data, not security)
    rows: list[dict[str, object]] = []
    for tool in TOOLS:
        rows += _tool_rows(rng, tool)
    return rows


def _tool_rows(rng: random.Random, tool: str) -> list[dict[str, object]]:
    """One tool's tenant: its resolved history (with a burst and two pairs) and its test days."""
    rows: list[dict[str, object]] = []
    count = 0

    def add(
        theme: Theme,
        split: str,
        created: datetime,
        *,
        dup: str | None = None,
        host: str = "",
        code: str = "",
    ) -> None:
        nonlocal count
        count += 1
        fields = _ticket(
            rng,
            tool,
            theme,
            language="en" if dup else _language(rng, theme),
            host=host or _host(rng, theme, tool),
            ip=_ip(rng),
            code=code or rng.choice(CODES[theme.key]),
        )
        rows.append(
            {
                "id": f"{tool}-{count:03d}",
                "tool": tool,
                "split": split,
                "theme": theme.key,
                "created": created.isoformat(),
                "scope": "IT",
                "status": "resolved" if split == "history" else "open",
                **_labels(rng, tool, theme, 0.12 if split == "history" else 0.05),
                "dup_group": dup,
                **fields,
            }
        )

    for split, start, bursts, pairs, singles in (
        ("history", START - timedelta(days=30), 1, 2, HISTORY_PER_TOOL),  # resolved, a month ago
        ("test", START, 2, 3, SINGLES_PER_TOOL),  # the three days being scored
    ):
        planned: list[tuple[Theme, datetime, str | None, str, str]] = []
        for burst in range(bursts):  # an incident: 4 tickets about the same host within 40 minutes
            theme, at = rng.choice(THEMES), start + timedelta(hours=rng.uniform(0, 60))
            host, code = _host(rng, theme, tool), rng.choice(CODES[theme.key])
            group = f"{tool}-{split}-burst-{burst}"
            planned += [
                (theme, at + timedelta(minutes=rng.uniform(0, 40)), group, host, code) for _ in range(4)
            ]
        for pair in range(pairs):  # the same problem reported twice within three hours
            theme, at = rng.choice(THEMES), start + timedelta(hours=rng.uniform(0, 60))
            host, code = _host(rng, theme, tool), rng.choice(CODES[theme.key])
            group = f"{tool}-{split}-dup-{pair}"
            planned += [
                (theme, at + timedelta(minutes=rng.uniform(0, 180)), group, host, code) for _ in range(2)
            ]
        for _ in range(singles):
            planned.append((rng.choice(THEMES), start + timedelta(hours=rng.uniform(0, 72)), None, "", ""))
        for theme, at, dup, host, code in sorted(planned, key=lambda row: row[1]):
            add(theme, split, at, dup=dup, host=host, code=code)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when tickets.jsonl is not up to date")
    args = parser.parse_args(argv)
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in generate())
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.name} is out of date: run python -m evaluation.generate", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10))} tickets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
