"""`ticket-enhancer tenants erase ID [--ticket TICKET_ID] [--yes]`: delete every trace of a tenant, or
of one of its tickets, that the deployment holds; then print what was deleted, place by place, and
what cannot be deleted here or only later (README, "Data we keep", lists every place).

A tenant's traces:

- TenantsTable: its row; Secrets Manager: ``ticket-enhancer/<tool>/<tenant>`` and ``.../webhook``,
  deleted with ``ForceDeleteWithoutRecovery`` (no recovery window: they cannot be restored);
- DeliveriesTable: ``dedupe_key`` = ``<tool>#<tenant>#<delivery>`` (``event_key`` names the ticket);
- JobsTable: ``job_key`` = ``<tool>#<tenant>#<ticket>#<event>``;
- ContextTable: the partitions ``<tenant>#erased`` (digests of erased ticket ids syncs skip),
  ``<tenant>#kb``, ``<tenant>#asset``, ``<tenant>#ticket`` (processed and imported tickets),
  ``<tenant>#recent`` (pointers to the newest indexed tickets), ``<tenant>#usage`` (daily counters),
  ``<tenant>#sync`` (sync checkpoints), ``<tenant>#index`` (the search index pointer),
  ``<tenant>#oauth`` (shared access tokens), and its entry in each tool's unfinished-sync list
  ``_sync#<tool>``;
- the index bucket: every object (every version) under ``<tenant>/`` (:mod:`.erase_index`);
- each tool's queue and dead-letter queue: jobs whose body names the tenant (ids only).

With ``--ticket`` only that ticket's delivery and job records, its ticket item and recent-ticket pointer
(and an erased-ticket marker is written so the next sync does not import it again), its queued jobs, and
its text in the search index: rebuilt without it and republished, every other index version deleted
(:mod:`.erase_index`).

Costs and limits (README, under the CLI; the command says them too): the deliveries and jobs
tables have no index by tenant, so each is read with one ``Scan`` (read capacity for the whole
table); queues are read once, best effort (jobs in flight cannot be read); every tool's records,
secrets and queues are searched, so a second run finds what the first left or what came since.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ticket_enhancer.cli import erase_index
from ticket_enhancer.cli.erase_queues import erase_queues, matcher
from ticket_enhancer.cli.errors import CliError
from ticket_enhancer.cli.target import Target, resolve
from ticket_enhancer.sync.store import ERASED_KIND, erased_marker
from ticket_enhancer.tenants import deserialize_item, secret_name, valid_tenant_id, webhook_secret_name

MAX_TICKET_ID = 256  # as queued jobs allow
CONTEXT_KINDS = {
    "kb": "knowledge articles",
    "asset": "assets",
    "ticket": "ticket index entries",
    "recent": "recent ticket pointers",
    "usage": "daily usage counters",
    "sync": "sync checkpoints",
    "index": "search index pointer",
    "oauth": "shared access tokens",  # ticket_enhancer.tokens (Zoho)
    ERASED_KIND: "erased-ticket markers",  # ticket_enhancer.sync.store: ids a sync must not import
}
SECRETS = "secrets (Secrets Manager, ForceDeleteWithoutRecovery: no recovery window)"
PITR_DEFAULT_DAYS = 35


@dataclass
class Report:
    deleted: list[tuple[str, int]] = field(default_factory=list)
    later: list[str] = field(default_factory=list)

    def add(self, what: str, count: int) -> None:
        self.deleted.append((what, count))

    @property
    def total(self) -> int:
        return sum(count for _, count in self.deleted)


def run(args: Any) -> int:
    """Check the request, refuse a deployed stack without ``--yes`` (nothing touched), then erase."""
    tenant_id, ticket_id = args.tenant_id, args.ticket
    if not valid_tenant_id(tenant_id):
        raise CliError(f"tenant id {tenant_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]{{0,63}}")
    if ticket_id is not None and not (ticket_id.strip() and len(ticket_id) <= MAX_TICKET_ID):
        raise CliError(f"--ticket needs a ticket id of 1 to {MAX_TICKET_ID} characters")
    if args.stack and not args.local and not args.yes:
        what = f"ticket {ticket_id} of tenant {tenant_id}" if ticket_id else f"tenant {tenant_id}"
        raise CliError(f"erase deletes the data of {what} for good: add --yes to erase it from {args.stack}")
    return erase(resolve(args), tenant_id, ticket_id)


def erase(target: Target, tenant_id: str, ticket_id: str | None = None) -> int:
    ddb = target.client("dynamodb")
    item = ddb.get_item(
        TableName=target.tables["TenantsTable"], Key={"tenant_id": {"S": tenant_id}}, ConsistentRead=True
    ).get("Item")
    row = deserialize_item(item) if item else None
    tool = str(row["tool_type"]) if row else None
    tools = sorted(set(target.tools) | ({tool} if tool else set()))
    where = "the local stack" if target.local else "the stack"
    subject = f"ticket {ticket_id} of tenant {tenant_id}" if ticket_id else f"tenant {tenant_id}"
    print(f"erasing {subject} ({tool or 'no tenant row'}) from {where}:")

    report = Report()
    if ticket_id is None:
        deleted = ddb.delete_item(
            TableName=target.tables["TenantsTable"],
            Key={"tenant_id": {"S": tenant_id}},
            ReturnValues="ALL_OLD",
        )
        report.add("tenant config (TenantsTable)", 1 if deleted.get("Attributes") else 0)
        sm = target.client("secretsmanager")
        report.add(SECRETS, _delete_secrets(sm, _secret_names(tools, tenant_id, row), report))
    prefixes = [f"{t}#{tenant_id}#" for t in tools]
    for logical, key, event_attribute, what in (
        ("DeliveriesTable", "dedupe_key", "event_key", "delivery records"),
        ("JobsTable", "job_key", "job_key", "job records"),
    ):
        table = target.tables[logical]
        count = _delete_records(
            ddb, table, key, prefixes, ticket_id=ticket_id, event_attribute=event_attribute
        )
        report.add(f"{what} ({logical})", count)
    _erase_context(ddb, target.tables["ContextTable"], tenant_id, ticket_id, report)
    if ticket_id is None:
        erase_index.erase_tenant(target, ddb, tenant_id, tools, report)
    else:
        erase_index.erase_ticket(target, ddb, tenant_id, ticket_id, report)
    erase_queues(target, tools, matcher(tenant_id, ticket_id), report, one_ticket=ticket_id is not None)
    _later(target, ddb, tool, ticket_id, report)
    _print(report, subject)
    return 0


# -- DynamoDB -----------------------------------------------------------------------------------


def _ticket_of(event_key: str, prefix: str) -> str | None:
    """The ticket id of ``<tool>#<tenant>#<ticket>#<event>`` (event types hold no ``#``)."""
    rest = event_key.removeprefix(prefix)
    return rest.rsplit("#", 1)[0] if rest != event_key and "#" in rest else None


def _scan(ddb: Any, table: str, key: str, prefixes: list[str], extra: str) -> Iterator[dict[str, Any]]:
    """Items whose ``key`` starts with one of ``prefixes``: one Scan of the whole table."""
    values = {f":p{i}": {"S": prefix} for i, prefix in enumerate(prefixes)}
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": " OR ".join(f"begins_with(#k, :p{i})" for i in range(len(prefixes))),
        "ProjectionExpression": "#k, #e" if extra != key else "#k",
        "ExpressionAttributeNames": {"#k": key, **({"#e": extra} if extra != key else {})},
        "ExpressionAttributeValues": values,
    }
    for page in ddb.get_paginator("scan").paginate(**request):
        yield from page.get("Items", [])


def _delete_records(
    ddb: Any, table: str, key: str, prefixes: list[str], *, ticket_id: str | None, event_attribute: str
) -> int:
    if not prefixes:
        return 0
    count = 0
    for item in list(_scan(ddb, table, key, prefixes, event_attribute)):
        if ticket_id is not None:
            event_key = item.get(event_attribute, {}).get("S", "")
            prefix = next((p for p in prefixes if item[key]["S"].startswith(p)), "")
            if _ticket_of(event_key, prefix) != ticket_id:
                continue
        gone = ddb.delete_item(TableName=table, Key={key: item[key]}, ReturnValues="ALL_OLD")
        count += 1 if gone.get("Attributes") else 0
    return count


def _erase_context(ddb: Any, table: str, tenant_id: str, ticket_id: str | None, report: Report) -> None:
    if ticket_id is not None:
        gone = ddb.delete_item(
            TableName=table,
            Key={"pk": {"S": f"{tenant_id}#ticket"}, "sk": {"S": ticket_id}},
            ReturnValues="ALL_OLD",
        )
        report.add("ticket index entry (ContextTable)", 1 if gone.get("Attributes") else 0)
        pointers = _delete_partition(ddb, table, f"{tenant_id}#recent", ticket_id)
        report.add("recent ticket pointer (ContextTable)", pointers)
        # The tool still has the ticket: the marker (a digest of its id) keeps later syncs from importing it.
        ddb.put_item(TableName=table, Item=erased_marker(tenant_id, ticket_id))
        report.later.append(
            f"ticket {ticket_id} stays in the ticketing tool: later syncs skip it (an erased-ticket "
            "marker holding a SHA-256 digest of its id; `tenants erase` of the whole tenant removes it)"
        )
        return
    for kind, what in CONTEXT_KINDS.items():
        report.add(f"{what} (ContextTable)", _delete_partition(ddb, table, f"{tenant_id}#{kind}"))


def _delete_partition(ddb: Any, table: str, pk: str, ticket_id: str | None = None) -> int:
    """Delete a partition's items (only those of ``ticket_id`` when given); how many went."""
    request: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "pk = :pk"}
    request |= {"ExpressionAttributeValues": {":pk": {"S": pk}}, "ProjectionExpression": "pk, sk"}
    if ticket_id is not None:
        request["FilterExpression"] = "ticket_id = :ticket"
        request["ExpressionAttributeValues"][":ticket"] = {"S": ticket_id}
    count = 0
    for page in ddb.get_paginator("query").paginate(**request, ConsistentRead=True):
        for item in page.get("Items", []):
            gone = ddb.delete_item(
                TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}, ReturnValues="ALL_OLD"
            )
            count += 1 if gone.get("Attributes") else 0
    return count


# -- Secrets Manager ----------------------------------------------------------------------------


def _secret_names(tools: list[str], tenant_id: str, row: dict[str, Any] | None) -> list[str]:
    """Both secrets of the tenant id under every tool (and those its row names), each once."""
    names = [name for t in tools for name in (secret_name(t, tenant_id), webhook_secret_name(t, tenant_id))]
    if row and row.get("secret_id"):
        names += [str(row["secret_id"]), f"{row['secret_id']}/webhook"]
    return list(dict.fromkeys(names))


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _delete_secrets(sm: Any, names: list[str], report: Report) -> int:
    """Delete the secrets that exist. Force-deleting a missing secret succeeds too, so each is
    described first: the count is what really existed."""
    count = 0
    for name in names:
        try:
            described = sm.describe_secret(SecretId=name)
        except Exception as exc:
            if _code(exc) == "ResourceNotFoundException":
                continue
            raise
        pending = described.get("DeletedDate") is not None
        try:
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except Exception as exc:
            if _code(exc) not in {"ResourceNotFoundException", "InvalidRequestException"}:
                raise
            report.later.append(
                f"secret {name}: scheduled for deletion on {described.get('DeletedDate')}; Secrets "
                "Manager refused to delete it now (restore and erase again, or wait for that date)"
            )
            continue
        if pending:  # deleted earlier (with a recovery window, or by a first erase a moment ago)
            report.later.append(f"secret {name}: was already being deleted; deletion forced now")
        else:
            count += 1
    return count


# -- what stays, and the report ------------------------------------------------------------------


def _backups(target: Target, ddb: Any) -> list[str]:
    """Point-in-time recovery and on-demand backups of the stack's tables, as they are now."""
    restorable: list[str] = []
    unknown: list[str] = []
    lines: list[str] = []
    for logical, table in target.tables.items():
        try:
            description = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
            pitr = description.get("PointInTimeRecoveryDescription") or {}
            if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
                days = pitr.get("RecoveryPeriodInDays") or PITR_DEFAULT_DAYS
                restorable.append(f"{logical} ({days} days)")
            backups = ddb.list_backups(TableName=table).get("BackupSummaries", [])
        except Exception as exc:
            unknown.append(f"{logical} ({_code(exc) or type(exc).__name__})")
            continue
        if backups:
            lines.append(
                f"on-demand backups of {logical}: {len(backups)} made before now keep the erased items "
                "until they are deleted (aws dynamodb delete-backup, or the AWS Backup plan's rules)"
            )
    if restorable:
        lines.insert(
            0,
            f"point-in-time recovery of {', '.join(restorable)}: a restore to a moment before now would "
            "bring the erased items back until they age out of that window (PointInTimeRecoveryDays)",
        )
    else:
        lines.insert(0, "point-in-time recovery: off for every table, so no continuous backup holds them")
    if unknown:
        lines.append(
            f"backups of {', '.join(unknown)} could not be checked: with point-in-time recovery on, "
            f"erased items stay restorable for up to {PITR_DEFAULT_DAYS} days"
        )
    return lines


def _later(target: Target, ddb: Any, tool: str | None, ticket_id: str | None, report: Report) -> None:
    report.later += _backups(target, ddb)
    report.later.append(
        "CloudWatch Logs: the functions' logs and the webhook API's access logs name the tenant and its "
        "ticket ids (never ticket text or secrets) until they expire (the stack's LogRetentionDays and "
        "AccessLogRetentionDays, 30 and 90 days by default); single log events cannot be deleted"
    )
    where = f"ticket {ticket_id}" if ticket_id else "the tenant's tickets"
    report.later.append(
        f"notes already posted on {where} in {tool or 'the ticketing tool'}: they belong to the tool; "
        "delete them there (each ends with a footer naming its job)"
    )
    if ticket_id is None:
        report.later.append(
            "the functions may hold the tenant's config and secrets in memory for up to 5 minutes "
            "(TENANT_CACHE_SECONDS): remove the webhook in the tool, then run erase again after that"
        )
    else:
        report.later.append(
            "a later event on the ticket makes new records, and the next history sync imports it again "
            "while the tool still has it: erase covers what exists now"
        )


def _print(report: Report, subject: str) -> None:
    width = max(len(str(count)) for _, count in report.deleted)
    for what, count in report.deleted:
        print(f"  deleted {count:>{width}}  {what}")
    if report.total:
        print(f"{report.total} item(s) deleted.")
    else:
        print(f"nothing deleted: no trace of {subject} is left in these places (already erased?)")
    print("not deleted here, or only later:")
    for line in report.later:
        print(f"  - {line}")
