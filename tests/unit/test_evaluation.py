"""The evaluation set is what its script makes, and the CI-size evaluation meets the goals."""

from __future__ import annotations

from evaluation import eval as evaluation
from evaluation import generate


def test_the_evaluation_set_is_up_to_date_and_large_enough() -> None:
    assert generate.main(["--check"]) == 0
    rows = evaluation.load()
    assert len(rows) >= 200
    assert {row["tool"] for row in rows} == set(generate.TOOLS)
    assert {row["split"] for row in rows} == {"history", "test"}
    assert all(row["key_facts"] for row in rows)
    assert sum(len(row["pii"]) for row in rows) >= 100
    assert len({row["dup_group"] for row in rows if row["dup_group"]}) >= 20


def test_the_small_evaluation_meets_the_goals() -> None:
    rows = [row for row in evaluation.load() if row["tool"] in ("jira", "servicenow")]
    result = evaluation.evaluate(rows)
    assert result["tickets"] >= 50
    assert result["triage_top1_supported"] >= evaluation.GOALS["triage_top1_supported"]
    assert result["duplicate_precision"] >= evaluation.GOALS["duplicate_precision"]
    assert result["summary_coverage"] >= 0.9
    assert result["pii_recall"] == 1.0
    assert result["technical_facts_kept_by_masking"] == 1.0
    assert result["language_accuracy"] >= 0.9
