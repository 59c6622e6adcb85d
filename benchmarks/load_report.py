"""What the load run prints and draws: its one-line report, a line per part as it ends, the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.load_watch import percentiles
from benchmarks.png import Panel, histograms

__all__ = ["chart", "fair_report", "report", "result_line"]


def chart(
    path: Path,
    result: dict[str, Any],
    round_trips_ms: list[float],
    e2e: list[float],
    samples: dict[str, list[float]],
) -> None:
    """Histograms with p50 and p99 marked: capacity ingest, capacity end to end, then the quiet
    tenants' end to end without and with the noisy tenant."""
    ingest, end_to_end = result["ingest_ms"], result["end_to_end_ms"]
    panels = [
        Panel(
            f"Ingest latency (HTTP round trip), {result['requests']} requests, {result['senders']} senders",
            round_trips_ms,
            {"p50": ingest.get("p50", 0.0), "p99": ingest.get("p99", 0.0)},
        ),
        Panel(
            f"End-to-end latency (send to note visible), {len(e2e)} notes",
            e2e,
            {"p50": end_to_end.get("p50", 0.0), "p99": end_to_end.get("p99", 0.0)},
        ),
    ]
    for name, values in samples.items():
        cuts = percentiles(values)
        panels.append(
            Panel(
                f"Quiet tenants' end to end, {'with' if name == 'noisy' else 'without'} the noisy "
                f"tenant, {len(values)} notes",
                values,
                {"p50": cuts.get("p50", 0.0), "p99": cuts.get("p99", 0.0)},
            )
        )
    histograms(path, panels)


def report(result: dict[str, Any]) -> str:
    ingest, e2e = result["ingest_ms"], result["end_to_end_ms"]
    verdict = "OK" if result["ok"] else "FAILED"
    return (
        f"load {verdict}: {result['webhooks']} webhooks (+{result['redeliveries']} re-deliveries) from "
        f"{result['senders']} senders, {result['tenants']} tenants: {result['webhooks_per_s']} webhooks/s, "
        f"ingest p50 {ingest.get('p50')} ms p99 {ingest.get('p99')} ms, end-to-end p50 {e2e.get('p50')} ms "
        f"p99 {e2e.get('p99')} ms, {result['notes_per_s']} notes/s; accepted {result['accepted']}, "
        f"duplicates {result['duplicates_answered']}, 503 retried {result['retried_503']}, notes "
        f"{result['notes']}, lost {result['lost']}, doubled {result['doubled']}, "
        f"DLQ {result['dead_letters']}; ingest {result['ingest_vs_floor']}x the emulator's floor "
        f"({result['floor']['per_s']} PutItem+SendMessage/s from {result['floor']['threads']} threads)"
        f"{fair_report(result.get('fair_sharing'))} ({result['total_seconds']} s in all)"
    )


def result_line(run: dict[str, Any]) -> str:
    """One run's counts and latencies, printed as each part ends (a long run shows its progress)."""
    return (
        f"{run['webhooks']} webhooks, {run['webhooks_per_s']} webhooks/s, {run['notes_per_s']} notes/s, "
        f"ingest {run['ingest_ms']}, accepted {run['accepted']}, lost {run['lost']}, doubled "
        f"{run['doubled']}, DLQ {run['dead_letters']}, quiet {run.get('quiet_end_to_end_ms', '-')}"
    )


def fair_report(fair: dict[str, Any] | None) -> str:
    if not fair:
        return ""
    parts = []
    for name in ("baseline", "noisy"):
        run, quiet = fair[name], fair[name]["quiet_end_to_end_ms"]
        parts.append(
            f"{name}: quiet tenants p50 {quiet.get('p50')} ms p99 {quiet.get('p99')} ms, lost {run['lost']}, "
            f"doubled {run['doubled']}, DLQ {run['dead_letters']}"
        )
    return f"; at {fair['offered_per_s']} webhooks/s offered, {fair['slow_tool']} slow: " + "; ".join(parts)
