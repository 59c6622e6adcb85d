"""The README's "Data we keep" table against template.yaml, and retention as the template sets it.

Every table, queue and log group of the template has a row; every log group has a retention from a
parameter; each TTL the table states exists on that table with the attribute the code writes; the
defaults the table states are the parameters' defaults; deletion policies and backups are as stated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ticket_enhancer import retention

from scripts.gen_template import TEMPLATE_PATH, TOOLS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
STATEFUL = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::S3::Bucket")
# What CloudWatch Logs accepts as RetentionInDays (AWS::Logs::LogGroup's schema).
CLOUDWATCH_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
CLOUDWATCH_DAYS |= {2922, 3288, 3653}
# Where the code writes each TTL attribute (a table's TTL names the attribute; these files write it).
TTL_WRITERS = {
    "DeliveriesTable": "shared/ticket_enhancer/ingest/queueing.py",
    "JobsTable": "shared/ticket_enhancer/jobs.py",
    "ContextTable": "shared/ticket_enhancer/enhance/store.py",
}

Row = dict[str, str]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    """The rows of the table under "## Data we keep", by column name."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Data we keep\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["place", "what is in it", "how long", "how to change it", "template"]
    assert set(lines[1].replace("|", "")) == {"-"}
    table = [
        dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]
    ]
    assert len(table) >= 10
    return table


def named(cell: str) -> set[str]:
    """The logical ids a ``template`` cell names (``<Tool>`` stands for each tool's CamelCase name)."""
    ids: set[str] = set()
    for name in re.findall(r"`([^`]+)`", cell):
        ids |= {name.replace("<Tool>", camel) for camel in TOOLS.values()} if "<Tool>" in name else {name}
    return ids


def resources_of(template: dict[str, Any], *kinds: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] in kinds}


def test_every_table_queue_and_log_group_has_a_row(template: dict[str, Any], rows: list[Row]) -> None:
    stated = set().union(*(named(row["template"]) for row in rows))
    assert stated == set(resources_of(template, *STATEFUL)), "README 'Data we keep' vs template.yaml"
    places = " ".join(row["place"] for row in rows).lower()
    for place in ("secrets manager", "backups", "notes posted in the tool", "dead-letter", "logs"):
        assert place in places


def test_every_log_group_has_a_retention_from_a_parameter(template: dict[str, Any], rows: list[Row]) -> None:
    groups = resources_of(template, "AWS::Logs::LogGroup")
    functions = resources_of(template, "AWS::Serverless::Function")
    assert len(groups) == len(functions) + 1  # one per function, and the API's access logs
    for logical_id, group in groups.items():
        days = group["Properties"]["RetentionInDays"]
        parameter = template["Parameters"][days["Ref"]]
        assert set(parameter["AllowedValues"]) <= CLOUDWATCH_DAYS, logical_id
        assert parameter["Default"] in parameter["AllowedValues"], logical_id
        row = next(r for r in rows if logical_id in named(r["template"]))
        assert f"`{days['Ref']}`" in row["how to change it"], logical_id


def test_every_function_logs_to_its_own_group(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    assert functions
    for logical_id, function in functions.items():
        group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = template["Resources"][group_id]
        assert group["Type"] == "AWS::Logs::LogGroup", logical_id
        assert group["Properties"]["LogGroupName"] == {
            "Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{logical_id}"
        }


def test_each_stated_ttl_exists_on_its_table(template: dict[str, Any], rows: list[Row]) -> None:
    stated_ttl = set()
    for row in rows:
        attribute = re.search(r"TTL `([a-z_]+)`", row["how long"])
        for logical_id in named(row["template"]) & set(resources_of(template, "AWS::DynamoDB::Table")):
            ttl = template["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification")
            if attribute and "backups" not in row["place"].lower():
                assert ttl == {"AttributeName": attribute.group(1), "Enabled": True}, logical_id
                stated_ttl.add(logical_id)
                writer = (ROOT / TTL_WRITERS[logical_id]).read_text(encoding="utf-8")
                assert f'"{attribute.group(1)}"' in writer, (logical_id, TTL_WRITERS[logical_id])
    tables_with_ttl = {
        k
        for k, r in resources_of(template, "AWS::DynamoDB::Table").items()
        if "TimeToLiveSpecification" in r["Properties"]
    }
    assert stated_ttl == tables_with_ttl


def test_stated_defaults_are_the_parameters_defaults(template: dict[str, Any], rows: list[Row]) -> None:
    parameters = template["Parameters"]
    checked = set()
    for row in rows:
        for name in re.findall(r"`([A-Za-z]+Days)`", row["how to change it"]):
            default = parameters[name]["Default"]
            assert f"default {default}" in row["how to change it"], name
            assert f"{default} days" in row["how long"], name
            checked.add(name)
    retention_parameters = {name for name in parameters if name.endswith("Days")}
    assert checked == retention_parameters
    for setting in (retention.INDEX, retention.HISTORY):
        parameter = parameters[setting.parameter]
        assert parameter["Default"] == str(setting.default)
        pattern = re.compile(parameter["AllowedPattern"])  # whole days only: no fraction passes
        assert pattern.match(str(setting.minimum))
        assert not pattern.match(str(setting.minimum - 1))
        assert not pattern.match(f"{setting.default}.5")


def test_deletion_policies_and_backups_are_as_stated(template: dict[str, Any], rows: list[Row]) -> None:
    stateful = resources_of(template, *STATEFUL)
    for row in rows:
        if "backups" in row["place"].lower():
            with_pitr = {
                k
                for k, r in resources_of(template, "AWS::DynamoDB::Table").items()
                if r["Properties"]
                .get("PointInTimeRecoverySpecification", {})
                .get("PointInTimeRecoveryEnabled")
            }
            assert named(row["template"]) == with_pitr
            for logical_id in with_pitr:
                spec = template["Resources"][logical_id]["Properties"]["PointInTimeRecoverySpecification"]
                assert spec["RecoveryPeriodInDays"] == {"Ref": "PointInTimeRecoveryDays"}
            continue
        for logical_id in named(row["template"]) & set(stateful):
            policy = stateful[logical_id]["DeletionPolicy"]
            assert stateful[logical_id]["UpdateReplacePolicy"] == policy, logical_id
            stated = "(`Retain`)" in row["how long"]
            assert stated == (policy == "Retain"), logical_id
            if policy == "Delete":
                assert "deleted with the stack" in row["how long"], logical_id


def test_workers_get_the_retention_defaults_from_the_parameters(template: dict[str, Any]) -> None:
    for camel in TOOLS.values():
        variables = template["Resources"][f"{camel}WorkerFunction"]["Properties"]["Environment"]["Variables"]
        for setting in retention.SETTINGS:
            assert variables[setting.env] == {"Ref": setting.parameter}


def test_each_stateful_resource_carries_a_data_comment() -> None:
    lines = TEMPLATE_PATH.read_text(encoding="utf-8").splitlines()
    loaded = yaml.safe_load("\n".join(lines))
    for logical_id in resources_of(loaded, *STATEFUL):
        index = lines.index(f"  {logical_id}:")
        assert lines[index - 1].startswith("  # data: "), logical_id
