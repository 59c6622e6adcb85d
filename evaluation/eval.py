"""``make eval``: the offline note's quality on the evaluation set (``evaluation/tickets.jsonl``).

Reports triage top-1 accuracy (overall, and where the true category has at least 5 resolved tickets
among the similar ones that vote), duplicate/burst precision and recall (pairs of tickets), summary
coverage (share of key facts in the note's summary), personal-data masking recall, technical facts
kept by masking, and language detection accuracy. Only the ``test`` split is scored; the ``history``
split is what the tenant's synced history holds (the votes and the document frequencies).
``--split history`` scores the history split instead: the thresholds were set on it (README).
``--small``: two tools only (CI). ``--check``: exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "shared"))

from ticket_enhancer.enhance.bm25 import rank  # noqa: E402 (after the path set-up)
from ticket_enhancer.enhance.duplicates import find_duplicates  # noqa: E402
from ticket_enhancer.enhance.language import detect_language  # noqa: E402
from ticket_enhancer.enhance.note import compose_offline_note  # noqa: E402
from ticket_enhancer.enhance.pii import mask_personal_data  # noqa: E402
from ticket_enhancer.enhance.records import GatheredContext, IndexedTicket  # noqa: E402
from ticket_enhancer.enhance.triage import VOTERS, suggest_triage  # noqa: E402
from ticket_enhancer.models import Ticket  # noqa: E402

DATA = Path(__file__).resolve().parent / "tickets.jsonl"
GOALS = {"triage_top1_supported": 0.7, "duplicate_precision": 0.9}
SUPPORT = 5


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_ticket(row: dict[str, Any]) -> Ticket:
    return Ticket(
        tool_type=row["tool"],
        tenant_id=row["tool"].replace("_", "-"),
        ticket_id=row["id"],
        display_key=row["id"],
        subject=row["subject"],
        description=row["description"],
        requester=row["requester"],
        created_at=datetime.fromisoformat(row["created"]),
        scope=row["scope"],
        status=row["status"],
    )


def as_indexed(row: dict[str, Any]) -> IndexedTicket:
    resolved = row["status"] == "resolved"
    return IndexedTicket(
        ticket_id=row["id"],
        display_key=row["id"],
        subject=row["subject"],
        text=f"{row['subject']}\n{row['description']}",
        url=f"https://eval.example/{row['id']}",
        created=row["created"],
        status=row["status"],
        resolved=row["created"] if resolved else "",
        category=row["category"] if resolved else "",
        group=row["group"] if resolved else "",
        priority=row["priority"] if resolved else "",
        scope=row["scope"],
    )


def query(row: dict[str, Any]) -> str:
    return f"{row['subject']}\n{row['subject']}\n{row['description']}"


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def evaluate(rows: list[dict[str, Any]], *, split: str = "test") -> dict[str, Any]:
    by_tool: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_tool[row["tool"]].append(row)
    triage: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # field -> [hits, total]
    suggested = supported_hits = supported_total = 0
    true_pairs: set[tuple[str, str]] = set()
    found_pairs: set[tuple[str, str]] = set()
    facts_hit = facts_total = pii_hit = pii_total = kept_hit = kept_total = lang_hit = lang_total = 0
    for tool_rows in by_tool.values():
        history_rows = [r for r in tool_rows if r["split"] == "history"]
        scored = sorted((r for r in tool_rows if r["split"] == split), key=lambda r: r["created"])
        history = [as_indexed(r) for r in history_rows]
        processed: list[IndexedTicket] = []
        for row in scored:
            # Triage: votes of the resolved history (never the scored ticket itself).
            suggestion = suggest_triage(query(row), history, exclude=row["id"])
            suggested += suggestion is not None
            for field in ("category", "group", "priority"):
                value = getattr(suggestion, field) if suggestion else None
                triage[field][0] += value is not None and value.value == row[field]
                triage[field][1] += 1
            voters = [h for h in history if h.ticket_id != row["id"]]
            ranked = rank(query(row), [f"{h.subject}\n{h.subject}\n{h.text}" for h in voters], VOTERS)
            if sum(voters[i].category == row["category"] for i, _ in ranked) >= SUPPORT:
                supported_total += 1
                category = suggestion.category if suggestion else None
                supported_hits += category is not None and category.value == row["category"]
            # Duplicates and bursts among the tickets processed before this one.
            me = as_ticket(row)
            signal = find_duplicates(me, processed, corpus=[*processed, *history])
            for other in signal.tickets if signal else ():
                found_pairs.add((row["id"], other.ticket_id))
            for other_row in scored:
                if other_row is row:
                    break
                if row["dup_group"] and other_row["dup_group"] == row["dup_group"]:
                    true_pairs.add((row["id"], other_row["id"]))
            processed.append(as_indexed(row) if split == "test" else as_indexed(row | {"status": "open"}))
            # Summary coverage: key facts in the offline note's summary.
            note = compose_offline_note(GatheredContext(ticket=me))
            summary = note.split("**Summary:**", 1)[1].split("**Language:**", 1)[0].lower()
            facts_total += len(row["key_facts"])
            facts_hit += sum(fact.lower() in summary for fact in row["key_facts"])
            # Personal data: planted values gone, technical facts kept.
            masked = mask_personal_data(row["description"])
            pii_total += len(row["pii"])
            pii_hit += sum(item["value"] not in masked for item in row["pii"])
            technical = [f for f in row["key_facts"] if f in row["description"]]
            kept_total += len(technical)
            kept_hit += sum(f in masked for f in technical)
            detected = detect_language(f"{row['subject']}\n{row['description']}")
            lang_total += 1
            lang_hit += detected is not None and detected.code == row["language"]
    hits = len(found_pairs & true_pairs)
    return {
        "split": split,
        "tickets": sum(t for _, t in triage.values()) // 3,
        "triage_top1": {field: _ratio(h, t) for field, (h, t) in triage.items()},
        "triage_suggested": _ratio(suggested, triage["category"][1]),
        "triage_top1_supported": _ratio(supported_hits, supported_total),
        "triage_supported_tickets": supported_total,
        "duplicate_precision": _ratio(hits, len(found_pairs)),
        "duplicate_recall": _ratio(hits, len(true_pairs)),
        "duplicate_pairs": {"true": len(true_pairs), "found": len(found_pairs), "correct": hits},
        "summary_coverage": _ratio(facts_hit, facts_total),
        "pii_recall": _ratio(pii_hit, pii_total),
        "pii_planted": pii_total,
        "technical_facts_kept_by_masking": _ratio(kept_hit, kept_total),
        "language_accuracy": _ratio(lang_hit, lang_total),
    }


def report(result: dict[str, Any]) -> str:
    triage = result["triage_top1"]
    pairs = result["duplicate_pairs"]
    return "\n".join(
        [
            f"evaluation ({result['split']} split, {result['tickets']} tickets)",
            f"  triage top-1: category {triage['category']}, group {triage['group']}, "
            f"priority {triage['priority']} (a suggestion for {result['triage_suggested']} of tickets)",
            f"  triage top-1 where the category has >= {SUPPORT} similar resolved tickets: "
            f"{result['triage_top1_supported']} ({result['triage_supported_tickets']} tickets; goal >= 0.7)",
            f"  duplicates/bursts: precision {result['duplicate_precision']} (goal >= 0.9), "
            f"recall {result['duplicate_recall']} ({pairs['correct']} of {pairs['true']} pairs, "
            f"{pairs['found']} flagged)",
            f"  summary coverage (key facts in the offline summary): {result['summary_coverage']}",
            f"  personal-data masking recall: {result['pii_recall']} ({result['pii_planted']} planted); "
            f"technical facts kept: {result['technical_facts_kept_by_masking']}",
            f"  language detection accuracy: {result['language_accuracy']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="two tools only (CI)")
    parser.add_argument("--split", choices=("test", "history"), default="test")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    rows = load()
    if args.small:
        rows = [r for r in rows if r["tool"] in ("jira", "servicenow")]
    started = time.perf_counter()
    result = evaluate(rows, split=args.split)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result, indent=2) if args.json else report(result))
    missed = [name for name, goal in GOALS.items() if (result[name] or 0.0) < goal]
    if args.check and missed:
        print(f"goal missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
