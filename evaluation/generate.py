"""Write ``evaluation/tickets.jsonl``: the labelled evaluation set (deterministic: seeded).

``python -m evaluation.generate`` rewrites the file; ``--check`` fails when it differs from what
this script makes. See ``evaluation/README.md`` for what the set holds and how it is split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluation.templates import (
    CODES,
    FILLER,
    FOREIGN,
    GREETINGS,
    NAMES,
    PHONES,
    PII_SENTENCES,
    SIGNOFFS,
    THEMES,
    Theme,
)

OUT = Path(__file__).resolve().parent / "tickets.jsonl"
SEED = 17
TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")
HISTORY_PER_TOOL = 40  # plus one burst of 4 and two pairs
SINGLES_PER_TOOL = 14  # test tickets that duplicate nothing
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


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
    rng = random.Random(SEED)  # noqa: S311 # nosec B311 (test data, not security)
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
