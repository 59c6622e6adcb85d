"""``Settings``: a function's environment parsed once at init; a missing or malformed variable is a
clear error naming it, never a made-up table name or a silently ignored value."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.settings import Settings, SettingsError

WEBHOOK = {"TENANTS_TABLE": "t", "DELIVERIES_TABLE": "d", "QUEUE_URL": "https://sqs/q.fifo"}
WORKER = {"TENANTS_TABLE": "t", "DELIVERIES_TABLE": "d", "JOBS_TABLE": "j", "CONTEXT_TABLE": "c"}


def test_the_template_environment_parses() -> None:
    webhook = Settings.for_webhook({**WEBHOOK, "TENANT_CACHE_SECONDS": "300", "POWERTOOLS_SERVICE_NAME": "s"})
    assert (webhook.tenants_table, webhook.deliveries_table, webhook.queue_url) == (
        "t",
        "d",
        "https://sqs/q.fifo",
    )
    assert (webhook.tenant_cache_seconds, webhook.service_name, webhook.local) == (300.0, "s", False)
    worker = Settings.for_worker(
        {**WORKER, "QUEUE_URL": "q", "INDEX_RETENTION_DAYS": "0", "HISTORY_RETENTION_DAYS": "30"}
    )
    assert (worker.jobs_table, worker.context_table, worker.queue_url) == ("j", "c", "q")
    assert (worker.index_retention_days, worker.history_retention_days) == (0, 30)
    assert (worker.context_cache_seconds, worker.metrics_namespace) == (60.0, "TicketEnhancer")
    assert Settings.for_worker(WORKER).queue_url is None  # deferrals keep the queue's own timeout


@pytest.mark.parametrize(
    ("parse", "env", "missing"),
    [
        (Settings.for_webhook, WEBHOOK, "TENANTS_TABLE"),
        (Settings.for_webhook, WEBHOOK, "DELIVERIES_TABLE"),
        (Settings.for_webhook, WEBHOOK, "QUEUE_URL"),
        (Settings.for_worker, WORKER, "TENANTS_TABLE"),
        (Settings.for_worker, WORKER, "DELIVERIES_TABLE"),
        (Settings.for_worker, WORKER, "JOBS_TABLE"),
        (Settings.for_worker, WORKER, "CONTEXT_TABLE"),
    ],
)
def test_a_missing_resource_name_is_named(parse: object, env: dict[str, str], missing: str) -> None:
    assert callable(parse)
    for value in (None, "", "   "):
        broken = {k: v for k, v in env.items() if k != missing}
        if value is not None:
            broken[missing] = value
        with pytest.raises(SettingsError, match=f"^{missing} is not set"):
            parse(broken)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TENANT_CACHE_SECONDS", "soon"),
        ("TENANT_CACHE_SECONDS", "-1"),
        ("TENANT_CACHE_SECONDS", "nan"),
        ("TENANT_CACHE_SECONDS", "inf"),
        ("CONTEXT_CACHE_SECONDS", "1e9"),
        ("INDEX_RETENTION_DAYS", "3651"),
        ("HISTORY_RETENTION_DAYS", "29"),
        ("HISTORY_RETENTION_DAYS", "90.5"),
        ("TICKET_ENHANCER_LOCAL", "yes"),
        ("TICKET_ENHANCER_LOCAL", "true"),
    ],
)
def test_a_malformed_value_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} must be .*{re.escape(repr(value))}"):
        Settings.for_worker({**WORKER, name: value})


def test_local_is_one_switch() -> None:
    assert Settings.for_webhook({**WEBHOOK, "TICKET_ENHANCER_LOCAL": "1"}).local is True
    assert Settings.for_worker({**WORKER, "TICKET_ENHANCER_LOCAL": "0"}).local is False


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            sorted(
                {
                    *WORKER,
                    "QUEUE_URL",
                    "TENANT_CACHE_SECONDS",
                    "CONTEXT_CACHE_SECONDS",
                    "INDEX_RETENTION_DAYS",
                    "HISTORY_RETENTION_DAYS",
                    "TICKET_ENHANCER_LOCAL",
                }
            )
        ),
        st.text(max_size=12),
    )
)
def test_any_environment_parses_or_names_its_problem(env: dict[str, str]) -> None:
    result = _parse_worker(env)
    if isinstance(result, SettingsError):
        named = str(result).split(" ", 1)[0]
        assert named in env or named in WORKER
    else:
        assert all((result.tenants_table, result.deliveries_table, result.jobs_table, result.context_table))
        assert 0 <= result.tenant_cache_seconds <= 86_400
        assert 0 <= result.context_cache_seconds <= 86_400


def _parse_worker(env: dict[str, str]) -> Settings | SettingsError:
    try:
        return Settings.for_worker(env)
    except SettingsError as exc:
        return exc
