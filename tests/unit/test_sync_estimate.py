"""The README's first-import table is what the estimate computes from the documented numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from ticket_enhancer.sync.estimate import COSTS, first_import_minutes, table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_the_computed_one() -> None:
    section = README.read_text(encoding="utf-8").split("## Importing history and knowledge", 1)[1]
    assert table() in section.split("\n## ", 1)[0]


@pytest.mark.parametrize("tool", list(COSTS))
def test_ten_times_the_tickets_takes_about_ten_times_as_long(tool: str) -> None:
    small, large = first_import_minutes(tool, 10_000), first_import_minutes(tool, 100_000)
    assert 9.9 * small <= large <= 10.1 * small


def test_a_bigger_share_is_faster_and_a_plugin_can_declare_its_numbers() -> None:
    assert first_import_minutes("zendesk", 10_000, 0.5) < first_import_minutes("zendesk", 10_000, 0.25)

    class Declared:
        history_page_size = 50
        history_calls_per_100 = 102  # two pages and a comments call per ticket
        documented_rate_limit_per_minute = 1000

    # 10,200 requests at 250/min; the export's own 10/min cap: 20 min for its 200 pages
    assert first_import_minutes("zendesk", 10_000, 0.25, Declared()) == pytest.approx(10_200 / 250)
