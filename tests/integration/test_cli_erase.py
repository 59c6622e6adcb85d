"""`ticket-enhancer tenants erase`: a tenant's (or one ticket's) data planted everywhere the deployment
keeps it, erased, and nothing of it left anywhere but the places the command lists as "not deleted".

The stack is moto's (``tests.cli_support``). Data is planted the way the product writes it: the
webhook's ``enqueue_once`` (delivery record and queued job), the worker's ``JobStore.claim`` (job
record), the CLI's knowledge and assets, the worker's ``ContextStore.index_ticket`` (processed tickets),
the sync's imported history, checkpoint and pending entry and the search index it publishes to S3 (two
versions), and a job in the dead-letter queue as SQS's redrive leaves it. Last, the CLI's retention
options.
"""

from __future__ import annotations

import json
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ticket_enhancer.cli.erase import erase
from ticket_enhancer.cli.main import main
from ticket_enhancer.cli.target import TABLES, load_local, load_stack, outputs_to_target
from ticket_enhancer.enhance.index_store import IndexStore
from ticket_enhancer.enhance.records import IndexedTicket
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.enhance.usage import UsageStore
from ticket_enhancer.ingest.queueing import enqueue_once
from ticket_enhancer.jobs import JobStore
from ticket_enhancer.models import EnhancementJob, JobTicket, Ticket, TicketMetadata
from ticket_enhancer.sync.checkpoint import Checkpoint, CheckpointStore
from ticket_enhancer.sync.index import PublishedIndex
from ticket_enhancer.sync.store import DynamoRecordStore, erased_marker
from ticket_enhancer.tokens import DynamoTokens

from tests.cli_support import Deployment
from tests.integration.test_cli_stack import add
from tests.support import BASE_URLS, REGION

GONE, KEPT = "erase-me", "keep-me"  # neither id contains the other
TICKETS = ("TCK-ERASE-1", "TCK-ERASE-2")
KEPT_TICKET = "TCK-OTHER-9"
HISTORY = {"HIST-1": "Quokka monitor flickers", "HIST-2": "Wombat keyboard sticky"}  # imported, indexed
HISTORY_IDS = list(HISTORY)


def index_store(deployed: Deployment) -> IndexStore:
    return IndexStore(deployed.dynamodb, deployed.tables["ContextTable"], deployed.s3, deployed.bucket)


def plant_history(deployed: Deployment, tool: str, tenant_id: str) -> None:
    """What a history sync leaves: imported tickets, a checkpoint, a pending entry, and the index it
    published (twice: the previous version is kept)."""
    table = deployed.tables["ContextTable"]
    records = DynamoRecordStore(deployed.dynamodb, table)
    tickets = [
        IndexedTicket(
            ticket_id=tid,
            subject=text,
            text=f"{text} in the {tenant_id} office",
            resolution="Replaced it",
            resolved="2026-11-20T10:00:00Z",
            status="resolved",
            scope="IT",
        )
        for tid, text in HISTORY.items()
    ]
    assert records.put_tickets(tenant_id, tickets, retention_days=3650).written == 2
    checkpoints = CheckpointStore(deployed.dynamodb, table)
    checkpoints.save(Checkpoint(tenant_id, "history"), "test", release=True)
    checkpoints.mark_pending(tool, tenant_id)
    for _ in range(2):
        PublishedIndex(records, index_store(deployed)).build(tenant_id)


def plant(deployed: Deployment, tool: str, tenant_id: str, ticket_ids: tuple[str, ...], tmp: Path) -> None:
    """A tenant's data in every place: row, both secrets, knowledge, assets, index, delivery and job
    records, a queued job and a dead-letter job per ticket."""
    add(deployed, tool, tenant_id)
    kb = tmp / f"{tenant_id}.jsonl"
    kb.write_text(json.dumps({"title": "VPN", "body": "Reset it", "url": "https://kb.example/vpn"}) + "\n")
    assets = tmp / f"{tenant_id}.csv"
    assets.write_text("10.0.0.0/8,corp,all\n")
    assert deployed.cli("tenants", "knowledge", tenant_id, str(kb)).code == 0
    assert deployed.cli("tenants", "assets", tenant_id, str(assets)).code == 0
    plant_history(deployed, tool, tenant_id)
    store = ContextStore(deployed.dynamodb, deployed.tables["ContextTable"])
    jobs = JobStore(deployed.dynamodb, deployed.tables["JobsTable"])
    # the worker's daily counter (daily_note_limit)
    UsageStore(deployed.dynamodb, deployed.tables["ContextTable"]).take_note_slot(tenant_id, "job-1", 10)
    for ticket_id in ticket_ids:
        store.index_ticket(  # what the worker (or a sync) indexes
            tenant_id,
            Ticket(
                tenant_id=tenant_id,
                tool_type=tool,
                ticket_id=ticket_id,
                subject=f"Subject of {ticket_id}",
                description="Printer on fire",
                created_at=datetime(2024, 5, 1, tzinfo=UTC),
            ),
        )
        metadata = TicketMetadata(
            tool_type=tool, tenant_id=tenant_id, ticket_id=ticket_id, delivery_id=f"delivery-{ticket_id}"
        )
        enqueue_once(
            dynamodb=deployed.dynamodb,
            sqs=deployed.sqs,
            table=deployed.tables["DeliveriesTable"],
            queue_url=deployed.queues[tool],
            metadata=metadata,
        )
        job = EnhancementJob(
            job_id=f"job-{ticket_id}", metadata=JobTicket.of(metadata), queued_at=datetime.now(UTC)
        )
        assert jobs.claim(job) is not None
        dead = job.model_copy(
            update={"metadata": JobTicket.of(metadata.model_copy(update={"event_type": "x"}))}
        )
        deployed.sqs.send_message(  # a job that failed five times, as redrive leaves it
            QueueUrl=deployed.dlqs[tool],
            MessageBody=dead.model_dump_json(),
            MessageGroupId=f"dead-{ticket_id}",
            MessageDeduplicationId=f"dead-{ticket_id}",
        )


def messages(deployed: Deployment, url: str) -> list[str]:
    """Every body in the queue (peeked: each is made visible again)."""
    bodies: dict[str, str] = {}
    handles: list[str] = []
    while True:
        got = deployed.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        batch = got.get("Messages", [])
        if not batch:
            break
        for message in batch:
            bodies[message["MessageId"]] = message["Body"]
            handles.append(message["ReceiptHandle"])
    for handle in handles:
        deployed.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return sorted(bodies.values())


def bucket(deployed: Deployment) -> dict[str, str]:
    """Every version and delete marker of the index bucket: its key and version, and its text."""
    found: dict[str, str] = {}
    for page in deployed.s3.get_paginator("list_object_versions").paginate(Bucket=deployed.bucket):
        for version in page.get("Versions", []):
            body = deployed.s3.get_object(
                Bucket=deployed.bucket, Key=version["Key"], VersionId=version["VersionId"]
            )["Body"].read()
            found[f"{version['Key']} {version['VersionId']}"] = zlib.decompress(body).decode("latin-1")
        for marker in page.get("DeleteMarkers", []):
            found[f"{marker['Key']} {marker['VersionId']}"] = "delete marker"
    return found


def everything(deployed: Deployment) -> str:
    """Every table item, secret (name and value), index object (every version, decompressed) and
    queued message of the stack, as one text.

    A tool's queue and dead-letter queue count as one place: each peek is a receive, and a job
    received more than maxReceiveCount times moves to the dead-letter queue.
    """
    state: dict[str, Any] = {
        "tables": {name: deployed.items(name) for name in deployed.tables},
        "secrets": {
            name: deployed.secretsmanager.get_secret_value(SecretId=name)["SecretString"]
            for name in deployed.secret_names()
        },
        "bucket": bucket(deployed),
        "queues": {
            tool: sorted(messages(deployed, deployed.queues[tool]) + messages(deployed, deployed.dlqs[tool]))
            for tool in deployed.queues
        },
    }
    return json.dumps(state, sort_keys=True)


def counts(out: str) -> dict[str, int]:
    """``deleted N  what`` lines of the report, by what."""
    found = {}
    for line in out.splitlines():
        words = line.split(maxsplit=2)
        if len(words) == 3 and words[0] == "deleted":
            found[words[2]] = int(words[1])
    return found


def later(out: str) -> str:
    return out.split("not deleted here, or only later:", 1)[1]


TENANT_PLACES = {
    "tenant config (TenantsTable)": 1,
    "secrets (Secrets Manager, ForceDeleteWithoutRecovery: no recovery window)": 2,
    "delivery records (DeliveriesTable)": 2,
    "job records (JobsTable)": 2,
    "knowledge articles (ContextTable)": 1,
    "assets (ContextTable)": 1,
    "ticket index entries (ContextTable)": 4,  # 2 processed, 2 imported
    "recent ticket pointers (ContextTable)": 2,
    "daily usage counters (ContextTable)": 1,
    "sync checkpoints (ContextTable)": 1,
    "search index pointer (ContextTable)": 1,
    "shared access tokens (ContextTable)": 1,
    "erased-ticket markers (ContextTable)": 1,  # a ticket erased earlier by --ticket
    "unfinished sync entries (ContextTable)": 1,
    "search index objects, every version (S3 ContextIndexBucket)": 2,
    "queued jobs (job queues)": 2,
    "jobs in dead-letter queues": 2,
}
TICKET_PLACES = {
    "delivery records (DeliveriesTable)": 1,
    "job records (JobsTable)": 1,
    "ticket index entry (ContextTable)": 1,
    "recent ticket pointer (ContextTable)": 1,
    "search index rebuilt without the ticket (S3 ContextIndexBucket)": 0,  # a processed ticket: not in it
    "search index versions that may hold the ticket (S3 ContextIndexBucket)": 1,  # the previous one
    "queued jobs (job queues)": 1,
    "jobs in dead-letter queues": 1,
}


@pytest.fixture
def planted(deployed: Deployment, tmp_path: Path) -> Deployment:
    for uuid in deployed.mappings.values():  # no worker reads the queues meanwhile (moto would try)
        deployed.lambda_.update_event_source_mapping(UUID=uuid, Enabled=False)
    plant(deployed, "jira", GONE, TICKETS, tmp_path)
    plant(deployed, "jira", KEPT, (KEPT_TICKET,), tmp_path)  # same tool: the same queue and DLQ
    plant(deployed, "zendesk", "keep-zen", ("TCK-ZEN-7",), tmp_path)
    tokens = DynamoTokens(deployed.dynamodb, deployed.tables["ContextTable"])  # a shared Zoho token
    assert tokens.lease(GONE, "zoho", "worker-1", now=0.0, until=20.0, fresh_after=120.0)
    tokens.store(GONE, "zoho", "worker-1", "zoho-access-token-1", 3600.0)
    table = deployed.tables["ContextTable"]  # a ticket erased earlier with --ticket
    deployed.dynamodb.put_item(TableName=table, Item=erased_marker(GONE, "TCK-ERASED-EARLIER"))
    return deployed


def test_erase_deletes_every_trace_of_the_tenant_and_only_its(planted: Deployment) -> None:
    for table in planted.tables.values():  # as the template has it for three of them
        planted.dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    before = json.loads(everything(planted))

    run = planted.cli("tenants", "erase", GONE, "--yes")

    assert (run.code, run.err) == (0, ""), run.err
    assert run.lines[0] == f"erasing tenant {GONE} (jira) from the stack:"
    assert counts(run.out) == TENANT_PLACES
    assert f"{sum(TENANT_PLACES.values())} item(s) deleted." in run.lines
    left = everything(planted)
    assert GONE in json.dumps(before)
    assert GONE not in left  # nowhere: tables, secrets (names and values), queues, dead-letter queues
    for ticket_id in TICKETS:
        assert ticket_id not in left
    after = json.loads(left)
    for name, items in before["tables"].items():  # the others' data is all still there
        assert [i for i in items if GONE not in json.dumps(i)] == after["tables"][name], name
    assert after["secrets"] == {k: v for k, v in before["secrets"].items() if GONE not in k}
    assert after["bucket"] == {k: v for k, v in before["bucket"].items() if not k.startswith(f"{GONE}/")}
    assert len(after["bucket"]) == 4  # 2 kept tenants x 2 versions
    for tool, bodies in before["queues"].items():
        assert after["queues"][tool] == [b for b in bodies if GONE not in b], tool
    assert sum(len(b) for b in after["queues"].values()) == 4  # 2 kept tenants x (queue + DLQ)
    assert planted.row(KEPT) is not None
    assert planted.cli("tenants", "show", GONE).code == 2
    # ... and it says what it cannot delete, or only later
    text = later(run.out)
    assert "point-in-time recovery of TenantsTable (35 days)" in text
    assert "age out" in text
    assert "CloudWatch Logs" in text
    assert "LogRetentionDays" in text
    assert "notes already posted on the tenant's tickets in jira" in text
    assert "best effort" in text
    assert "5 minutes" in text  # the functions' tenant cache

    again = planted.cli("tenants", "erase", GONE, "--yes")  # idempotent

    assert (again.code, again.err) == (0, "")
    assert again.lines[0] == f"erasing tenant {GONE} (no tenant row) from the stack:"
    assert counts(again.out) == dict.fromkeys(TENANT_PLACES, 0)
    assert (
        f"nothing deleted: no trace of tenant {GONE} is left in these places (already erased?)" in again.lines
    )
    assert "point-in-time recovery of TenantsTable (35 days)" in later(again.out)
    assert everything(planted) == left


def test_erase_after_remove_finds_what_remove_left(planted: Deployment) -> None:
    removed = planted.cli("tenants", "remove", GONE)
    assert removed.code == 0
    assert f"tenants erase {GONE}" in removed.lines[1]
    # remove already deletes the search index (every version) and the unfinished-sync entry
    assert not [key for key in bucket(planted) if key.startswith(f"{GONE}/")]
    assert not [
        i for i in planted.items("ContextTable") if i["pk"]["S"].startswith("_sync#") and GONE in str(i)
    ]
    assert not [i for i in planted.items("ContextTable") if i["pk"]["S"] == f"{GONE}#oauth"]  # access tokens

    run = planted.cli("tenants", "erase", GONE, "--yes")

    assert counts(run.out)["delivery records (DeliveriesTable)"] == 2
    assert counts(run.out)["job records (JobsTable)"] == 2
    assert counts(run.out)["queued jobs (job queues)"] == 2
    assert counts(run.out)["tenant config (TenantsTable)"] == 0
    assert counts(run.out)["search index objects, every version (S3 ContextIndexBucket)"] == 0
    assert GONE not in everything(planted)


def test_erase_one_ticket_deletes_that_ticket_only(planted: Deployment) -> None:
    gone, kept = TICKETS
    before = everything(planted)

    run = planted.cli("tenants", "erase", GONE, "--ticket", gone, "--yes")

    assert (run.code, run.err) == (0, ""), run.err
    assert run.lines[0] == f"erasing ticket {gone} of tenant {GONE} (jira) from the stack:"
    assert counts(run.out) == TICKET_PLACES
    left = everything(planted)
    assert gone not in left
    assert before.count(kept) == left.count(kept)  # the tenant's other ticket is untouched
    assert planted.row(GONE) is not None  # and so are its config, secrets, knowledge and assets
    assert planted.secret_names().count(f"ticket-enhancer/jira/{GONE}") == 1
    pks = sorted({i["pk"]["S"] for i in planted.items("ContextTable") if i["pk"]["S"].startswith(GONE)})
    # the daily usage counter holds job ids and counts only: it stays until its TTL
    assert pks == [
        f"{GONE}#asset",
        f"{GONE}#erased",  # a digest of the ticket's id: later syncs skip it
        f"{GONE}#index",
        f"{GONE}#kb",
        f"{GONE}#oauth",
        f"{GONE}#recent",
        f"{GONE}#sync",
        f"{GONE}#ticket",
        f"{GONE}#usage",
    ]
    assert f"notes already posted on ticket {gone} in jira" in later(run.out)
    assert "later syncs skip it" in later(run.out)

    again = planted.cli("tenants", "erase", GONE, "--ticket", gone, "--yes")
    assert set(counts(again.out).values()) == {0}
    assert everything(planted) == left


def test_erase_one_imported_ticket_republishes_the_index_without_it(planted: Deployment) -> None:
    (gone, gone_text), (kept, kept_text) = HISTORY.items()
    assert gone_text in json.dumps(bucket(planted))
    others = {k: v for k, v in bucket(planted).items() if not k.startswith(f"{GONE}/")}

    run = planted.cli("tenants", "erase", GONE, "--ticket", gone, "--yes")

    assert (run.code, run.err) == (0, ""), run.err
    found = counts(run.out)
    assert found["ticket index entry (ContextTable)"] == 1
    assert found["search index rebuilt without the ticket (S3 ContextIndexBucket)"] == 1
    assert found["search index versions that may hold the ticket (S3 ContextIndexBucket)"] == 2  # both old
    objects = bucket(planted)
    mine = {k: v for k, v in objects.items() if k.startswith(f"{GONE}/")}
    assert len(mine) == 1  # the rebuilt index alone, no older version, no delete marker
    assert gone_text not in json.dumps(mine)  # in no version of any of its objects (others have their own)
    assert kept_text in next(iter(mine.values()))
    assert {k: v for k, v in objects.items() if not k.startswith(f"{GONE}/")} == others
    index = IndexStore(planted.dynamodb, planted.tables["ContextTable"], planted.s3, planted.bucket).load(
        GONE
    )
    assert index is not None
    assert index.tickets["ticket_id"] == [kept]
    hits = index.similar_tickets(f"{gone_text} {kept_text}", scope=None, k=5)
    assert [t.ticket_id for t, _ in hits] == [kept]

    again = planted.cli("tenants", "erase", GONE, "--ticket", gone, "--yes")  # idempotent: no new build
    assert set(counts(again.out).values()) == {0}
    assert bucket(planted) == objects


def test_an_erased_imported_ticket_is_not_imported_again_by_the_next_sync(planted: Deployment) -> None:
    (gone, gone_text), (kept, kept_text) = HISTORY.items()
    assert planted.cli("tenants", "erase", GONE, "--ticket", gone, "--yes").code == 0

    # The tool still has both tickets: the next sync's page lists them again.
    records = DynamoRecordStore(planted.dynamodb, planted.tables["ContextTable"])
    page = [
        IndexedTicket(ticket_id=tid, subject=text, resolved="2026-11-21T10:00:00Z", status="resolved")
        for tid, text in ((gone, gone_text), (kept, kept_text))
    ]
    stored = records.put_tickets(GONE, page, retention_days=3650)

    assert (stored.written, stored.erased, stored.skipped) == (1, 1, 0)
    assert [t.ticket_id for t in records.iter_tickets(GONE, origin="history")] == [kept]
    markers = [i for i in planted.items("ContextTable") if i["pk"]["S"] == f"{GONE}#erased"]
    assert gone not in json.dumps(markers)  # a digest of the id, not the id
    other = DynamoRecordStore(planted.dynamodb, planted.tables["ContextTable"])  # another tenant: unaffected
    assert other.put_tickets(KEPT, page, retention_days=3650).written == 2


def test_erase_refuses_a_deployed_stack_without_yes(planted: Deployment) -> None:
    before = planted.snapshot()

    for argv in (["tenants", "erase", GONE], ["tenants", "erase", GONE, "--ticket", TICKETS[0]]):
        run = planted.cli(*argv)

        assert run.code == 2
        assert run.out == ""
        assert len(run.err.splitlines()) == 1
        assert "--yes" in run.err
    assert planted.snapshot() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenants", "erase", "acme/../x", "--yes"], "tenant id"),
        (["tenants", "erase", "acme", "--ticket", "", "--yes"], "--ticket needs a ticket id"),
        (["tenants", "erase", "acme", "--ticket", "x" * 257, "--yes"], "--ticket needs a ticket id"),
    ],
)
def test_erase_refuses_bad_ids(deployed: Deployment, argv: list[str], message: str) -> None:
    add(deployed, "jira", "acme")
    before = deployed.snapshot()

    run = deployed.cli(*argv)

    assert (run.code, run.out) == (2, "")
    assert message in run.err
    assert deployed.snapshot() == before


def test_erase_on_the_local_stack_needs_no_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no local stack running here: the target is looked for, not refused

    assert main(["tenants", "erase", "acme", "--local"]) == 2

    err = capsys.readouterr().err
    assert "no local stack is running" in err
    assert "--yes" not in err


def test_the_index_bucket_comes_from_local_json_and_the_stack_outputs(tmp_path: Path) -> None:
    state = {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:1", "tables": {}, "tools": {}}
    (tmp_path / ".ticket-enhancer").mkdir()
    (tmp_path / ".ticket-enhancer" / "local.json").write_text(json.dumps(state))
    assert load_local(tmp_path).index_bucket is None  # a local stack from before the index
    state["buckets"] = {"ContextIndexBucket": "contextindexbucket"}
    (tmp_path / ".ticket-enhancer" / "local.json").write_text(json.dumps(state))
    assert load_local(tmp_path).index_bucket == "contextindexbucket"
    outputs = {f"{name}Name": name.lower() for name in TABLES}
    assert outputs_to_target(outputs, "us-east-1").index_bucket is None
    outputs["ContextIndexBucketName"] = "stack-index"
    assert outputs_to_target(outputs, "us-east-1").index_bucket == "stack-index"


def test_a_stack_without_the_bucket_output_says_what_it_left(
    planted: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    target = load_stack(planted.name, REGION)
    target.index_bucket = None  # a stack from before ContextIndexBucketName

    assert erase(target, GONE, HISTORY_IDS[0]) == 0
    assert erase(target, GONE) == 0

    out = capsys.readouterr().out
    assert f"objects under {GONE}/index/ in its bucket, if any, were not deleted" in out
    assert f"objects under {GONE}/ in its bucket, if any, were not deleted" in out
    assert [k for k in bucket(planted) if k.startswith(f"{GONE}/")]  # untouched, as it says
    assert GONE not in json.dumps([planted.items(name) for name in planted.tables])


def test_erase_leaves_unreadable_and_in_flight_messages(planted: Deployment) -> None:
    queue = planted.queues["jira"]
    planted.sqs.send_message(
        QueueUrl=queue, MessageBody="not json", MessageGroupId="junk", MessageDeduplicationId="junk"
    )
    held = planted.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=300)
    assert len(held["Messages"]) == 1  # a worker is processing it right now

    started = time.monotonic()
    run = planted.cli("tenants", "erase", KEPT, "--yes")

    assert time.monotonic() - started < 30
    assert "1 in the jira queue were being processed (in flight)" in later(run.out)
    assert "not json" in messages(planted, queue)


# -- retention options (README, Data we keep) ----------------------------------------------------------------


def test_cli_stores_valid_retention_options_and_refuses_others(deployed: Deployment) -> None:
    add(deployed, "jira", "acme", "--option", "index_retention_days=30")
    assert deployed.row("acme")["options"] == {"index_retention_days": "30"}  # type: ignore[index]

    run = deployed.cli("tenants", "update", "acme", "--option", "history_retention_days=60")
    assert run.code == 0, run.err
    assert deployed.row("acme")["options"]["history_retention_days"] == "60"  # type: ignore[index]

    before = deployed.snapshot()
    for argv in (
        ["tenants", "update", "acme", "--option", "history_retention_days=7"],
        ["tenants", "update", "acme", "--option", "index_retention_days=forever"],
        ["tenants", "add", "globex", "--tool", "jira", "--base-url", BASE_URLS["jira"], "--option",
         "index_retention_days=9999"],
    ):  # fmt: skip
        refused = deployed.cli(*argv)
        assert refused.code == 2, argv
        assert len(refused.err.splitlines()) == 1
        assert "must be a whole number of days" in refused.err
    assert deployed.snapshot() == before
