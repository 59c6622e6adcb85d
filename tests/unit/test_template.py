"""template.yaml is generated, up to date, complete and least-privilege."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.gen_template import (
    DEPENDENCY_LAYERS,
    RUNTIME,
    TEMPLATE_PATH,
    TOOLS,
    WORKER_TIMEOUT,
    function_files,
    render,
)

Template = dict[str, Any]

SECRET_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:ticket-enhancer/%s/*"
)
WEBHOOK_SECRET_ARN = SECRET_ARN.removesuffix("*") + "*/webhook-??????"
BEDROCK_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/*"
BEDROCK_PROFILE_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/*"
BEDROCK_ROUTED_ARN = "arn:${AWS::Partition}:bedrock:*::foundation-model/*"  # only through our profiles
INDEX_OBJECTS = "${ContextIndexBucket.Arn}/*"  # the tenants' search indexes
CLI_OUTPUTS = [
    "WebhookApiUrl",
    "TenantsTableName",
    "DeliveriesTableName",
    "JobsTableName",
    "ContextTableName",
    "ContextIndexBucketName",
]
TOOL_OUTPUTS = [
    "WebhookFunctionName",
    "WorkerFunctionName",
    "OpsFunctionName",
    "QueueUrl",
    "DeadLetterQueueUrl",
    "EventSourceMapping",
    "WebhookUrl",
]
CONTRACT_TOOLS = ["jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad"]
TOOL_PARAMS = [pytest.param(tool, camel, id=tool) for tool, camel in TOOLS.items()]


@pytest.fixture(scope="module")
def template() -> Template:
    loaded: Template = yaml.safe_load(Path(TEMPLATE_PATH).read_text(encoding="utf-8"))
    return loaded


def resources(template: Template) -> dict[str, Any]:
    result: dict[str, Any] = template["Resources"]
    return result


def policy_documents(template: Template, function_id: str) -> list[dict[str, Any]]:
    """The function's inline policies, whether SAM `Policies` or those of its explicit `Role`."""
    props = resources(template)[function_id]["Properties"]
    if "Role" in props:
        role = resources(template)[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        return [p["PolicyDocument"] for p in role["Policies"]]
    docs: list[dict[str, Any]] = props["Policies"]
    return docs


def statements(template: Template, function_id: str) -> list[dict[str, Any]]:
    return [stmt for doc in policy_documents(template, function_id) for stmt in doc["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources_for(template: Template, function_id: str, action: str) -> list[Any]:
    return [
        resource
        for stmt in statements(template, function_id)
        if stmt["Effect"] == "Allow" and action in as_list(stmt["Action"])
        for resource in as_list(stmt["Resource"])
    ]


def all_function_ids() -> list[str]:
    return [f"{camel}{kind}Function" for camel in TOOLS.values() for kind in ("Webhook", "Worker")]


def test_committed_template_is_generated() -> None:
    assert TEMPLATE_PATH.read_text(encoding="utf-8") == render(), "run `make template`"


def test_every_registered_tool_has_its_generated_entry_points() -> None:
    """The tools come from the plugin registry; each gets its three generated three-line handlers."""
    from ticket_enhancer.plugins.registry import known_tools

    files = function_files()
    assert len(files) == 3 * len(known_tools())
    for path, body in files.items():
        assert path.read_text(encoding="utf-8") == body, f"{path.name}: run `make template`"


def test_tools_match_the_contract(template: Template) -> None:
    assert list(TOOLS) == CONTRACT_TOOLS
    assert template["Metadata"]["TicketEnhancer"]["Tools"] == CONTRACT_TOOLS


def test_runtime_and_globals(template: Template) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == RUNTIME == "python3.13"
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [
        {"Fn::If": ["IsArm64", {"Ref": "DependenciesLayerArm64"}, {"Ref": "DependenciesLayer"}]},
        {"Ref": "SharedLayer"},
    ]
    env = function["Environment"]["Variables"]
    for name, table in [
        ("TENANTS_TABLE", "TenantsTable"),
        ("DELIVERIES_TABLE", "DeliveriesTable"),
        ("JOBS_TABLE", "JobsTable"),
        ("CONTEXT_TABLE", "ContextTable"),
    ]:
        assert env[name] == {"Ref": table}
    for function_id in all_function_ids():
        assert resources(template)[function_id]["Properties"].get("Runtime", RUNTIME) == RUNTIME
    for layer in [*DEPENDENCY_LAYERS.values(), "SharedLayer"]:
        assert resources(template)[layer]["Properties"]["CompatibleRuntimes"] == [RUNTIME]


def test_architecture_is_a_parameter_with_a_dependencies_layer_each(template: Template) -> None:
    parameter = template["Parameters"]["Architecture"]
    assert parameter["Default"] == "x86_64"
    assert parameter["AllowedValues"] == ["x86_64", "arm64"] == list(DEPENDENCY_LAYERS)
    assert template["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Conditions"]["IsArm64"] == {"Fn::Equals": [{"Ref": "Architecture"}, "arm64"]}
    assert template["Conditions"]["IsX86_64"] == {"Fn::Equals": [{"Ref": "Architecture"}, "x86_64"]}
    makefile = (TEMPLATE_PATH.parent / "layers" / "dependencies" / "Makefile").read_text(encoding="utf-8")
    platforms = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
    for architecture, name in DEPENDENCY_LAYERS.items():
        layer = resources(template)[name]
        assert layer["Condition"] == {"x86_64": "IsX86_64", "arm64": "IsArm64"}[architecture]
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": architecture}
        assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
        assert layer["Properties"]["ContentUri"] == "layers/dependencies/"
        # the layer's Makefile target installs wheels of its architecture (SAM passes it no other hint)
        target = makefile.split(f"build-{name}:\n", 1)[1].split("\n\n", 1)[0]
        assert f"--platform {platforms[architecture]}" in target, name
    shared = resources(template)["SharedLayer"]
    assert "Condition" not in shared  # pure Python: one build for both
    assert shared["Properties"]["CompatibleArchitectures"] == ["x86_64", "arm64"]


def test_snapstart_is_opt_in_on_published_versions(template: Template) -> None:
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["Default"] == "Disabled"
    assert parameter["AllowedValues"] == ["Disabled", "Webhooks", "All"]
    conditions = template["Conditions"]
    disabled = {"Fn::Equals": [{"Ref": "SnapStart"}, "Disabled"]}
    assert conditions["SnapStartWebhooks"] == {"Fn::Not": [disabled]}
    assert conditions["SnapStartWorkers"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "All"]}
    for camel in TOOLS.values():
        for kind, condition in (("Webhook", "SnapStartWebhooks"), ("Worker", "SnapStartWorkers")):
            props = resources(template)[f"{camel}{kind}Function"]["Properties"]
            # SnapStart applies to published versions only: events invoke the `live` alias
            assert props["AutoPublishAlias"] == "live"
            assert props["VersionDeletionPolicy"] == "Delete"  # replaced versions' snapshots go too
            assert props["SnapStart"] == {
                "Fn::If": [condition, {"ApplyOn": "PublishedVersions"}, {"ApplyOn": "None"}]
            }
    migration = resources(template)["SecretsMigrationFunction"]["Properties"]
    assert "SnapStart" not in migration
    assert "AutoPublishAlias" not in migration


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_tool_has_webhook_route_and_worker(template: Template, tool: str, camel: str) -> None:
    res = resources(template)
    webhook = res[f"{camel}WebhookFunction"]["Properties"]
    assert webhook["Handler"] == f"{tool}_webhook.handler"
    assert webhook["CodeUri"] == f"functions/{tool}_webhook/"
    assert webhook["Environment"]["Variables"]["TICKET_ENHANCER_TOOL"] == tool
    [event] = webhook["Events"].values()
    assert event["Type"] == "HttpApi"
    assert event["Properties"] == {
        "ApiId": {"Ref": "WebhookApi"},
        "Path": f"/webhooks/{tool}/{{tenant_id}}",
        "Method": "POST",
    }
    worker = res[f"{camel}WorkerFunction"]["Properties"]
    assert worker["Handler"] == f"{tool}_worker.handler"
    assert worker["CodeUri"] == f"functions/{tool}_worker/"
    assert worker["Environment"]["Variables"]["TICKET_ENHANCER_TOOL"] == tool
    assert worker["Timeout"] == WORKER_TIMEOUT


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_queue_redrive_visibility_and_batch_failures(template: Template, tool: str, camel: str) -> None:
    res = resources(template)
    queue = res[f"{camel}Queue"]["Properties"]
    worker = res[f"{camel}WorkerFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{camel}DeadLetterQueue", "Arn"]}
    assert res[f"{camel}DeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    event = worker["Events"][f"{camel}JobQueue"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [f"{camel}Queue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaxConcurrency"}}


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_secrets_limited_to_own_tool(template: Template, tool: str, camel: str) -> None:
    """The webhook reads its tool's webhook secrets only, the worker its tool's API secrets only."""
    webhook_only = {"Fn::Sub": WEBHOOK_SECRET_ARN % tool}
    granted = resources_for(template, f"{camel}WebhookFunction", "secretsmanager:GetSecretValue")
    assert granted == [webhook_only]
    granted = resources_for(template, f"{camel}WorkerFunction", "secretsmanager:GetSecretValue")
    assert granted == [{"Fn::Sub": SECRET_ARN % tool}]
    denied = [
        resource
        for stmt in statements(template, f"{camel}WorkerFunction")
        if stmt["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in as_list(stmt["Action"])
        for resource in as_list(stmt["Resource"])
    ]
    assert denied == [webhook_only]


def test_webhooks_wait_for_the_secrets_migration(template: Template) -> None:
    resources = template["Resources"]
    for tool, camel in TOOLS.items():
        assert resources[f"{camel}WebhookFunction"]["DependsOn"] == ["SecretsLayoutMigration"], tool
    migration = resources["SecretsLayoutMigration"]["Properties"]
    assert migration["ServiceToken"] == {"Fn::GetAtt": ["SecretsMigrationFunction", "Arn"]}


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_webhook_sends_only_to_own_queue(template: Template, tool: str, camel: str) -> None:
    granted = resources_for(template, f"{camel}WebhookFunction", "sqs:SendMessage")
    assert granted == [{"Fn::GetAtt": [f"{camel}Queue", "Arn"]}]
    worker_queue = resources_for(template, f"{camel}WorkerFunction", "sqs:ReceiveMessage")
    assert worker_queue == [{"Fn::GetAtt": [f"{camel}Queue", "Arn"]}]
    assert resources_for(template, f"{camel}WorkerFunction", "sqs:SendMessage") == []


def test_no_wildcards_except_secret_suffix_and_bedrock_models(template: Template) -> None:
    allowed = (
        {SECRET_ARN % tool for tool in TOOLS}
        | {WEBHOOK_SECRET_ARN % tool for tool in TOOLS}
        | {BEDROCK_ARN, BEDROCK_PROFILE_ARN, BEDROCK_ROUTED_ARN, INDEX_OBJECTS}
    )
    ops = [f"{camel}OpsFunction" for camel in TOOLS.values()]
    for function_id in [*all_function_ids(), *ops]:
        for stmt in statements(template, function_id):
            assert stmt["Effect"] == "Allow" or stmt["Action"] == ["secretsmanager:GetSecretValue"]
            for action in as_list(stmt["Action"]):
                assert "*" not in action, (function_id, action)
            for resource in as_list(stmt["Resource"]):
                text = resource if isinstance(resource, str) else resource.get("Fn::Sub", "")
                if "*" in text:
                    assert text in allowed, (function_id, resource)
                if text == BEDROCK_ROUTED_ARN:  # any Region's model, but only through our own profiles
                    condition = stmt["Condition"]["StringLike"]["bedrock:InferenceProfileArn"]
                    assert condition == {"Fn::Sub": BEDROCK_PROFILE_ARN}, function_id
                if any(action.startswith(("dynamodb:", "sqs:")) for action in as_list(stmt["Action"])):
                    assert isinstance(resource, dict), (function_id, resource)
                    assert "Fn::GetAtt" in resource, (function_id, resource)


def test_no_broad_sam_policy_templates(template: Template) -> None:
    for function_id in all_function_ids():
        for policy in policy_documents(template, function_id):
            assert set(policy) == {"Version", "Statement"}, function_id


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_workers_have_an_explicit_role(template: Template, tool: str, camel: str) -> None:
    # With an SQS event and no Role, SAM would attach AWSLambdaSQSQueueExecutionRole (every queue).
    props = resources(template)[f"{camel}WorkerFunction"]["Properties"]
    assert "Policies" not in props
    role = resources(template)[props["Role"]["Fn::GetAtt"][0]]["Properties"]
    managed = [arn["Fn::Sub"].rsplit("/", 1)[-1] for arn in role["ManagedPolicyArns"] if "Fn::Sub" in arn]
    assert sorted(managed) == ["AWSLambdaBasicExecutionRole", "AWSXRayDaemonWriteAccess"]
    in_vpc = [arn["Fn::If"] for arn in role["ManagedPolicyArns"] if "Fn::If" in arn]  # only in a VPC
    assert [(c, a["Fn::Sub"].rsplit("/", 1)[-1], n) for c, a, n in in_vpc] == [
        ("WorkersInVpc", "AWSLambdaVPCAccessExecutionRole", {"Ref": "AWS::NoValue"})
    ]
    queue_actions = [
        s for s in statements(template, f"{camel}WorkerFunction") if "sqs:ReceiveMessage" in s["Action"]
    ]
    assert [s["Resource"] for s in queue_actions] == [[{"Fn::GetAtt": [f"{camel}Queue", "Arn"]}]]


def test_tables(template: Template) -> None:
    res = resources(template)
    keys = {
        "TenantsTable": ["tenant_id"],
        "DeliveriesTable": ["dedupe_key"],
        "JobsTable": ["job_key"],
        "ContextTable": ["pk", "sk"],
    }
    for table_id, expected in keys.items():
        props = res[table_id]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert [key["AttributeName"] for key in props["KeySchema"]] == expected
    for table_id in ("DeliveriesTable", "JobsTable", "ContextTable"):
        assert res[table_id]["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"


def test_outputs_the_cli_reads(template: Template) -> None:
    outputs: dict[str, Any] = template["Outputs"]
    expected = CLI_OUTPUTS + [f"{camel}{name}" for camel in TOOLS.values() for name in TOOL_OUTPUTS]
    assert sorted(expected) == sorted(outputs)
    for name, output in outputs.items():
        assert output.get("Description"), name
    for tool, camel in TOOLS.items():
        mapping = outputs[f"{camel}EventSourceMapping"]["Value"]
        assert mapping == {"Ref": f"{camel}WorkerFunction{camel}JobQueue"}
        assert outputs[f"{camel}WebhookUrl"]["Value"]["Fn::Sub"].endswith(f"/webhooks/{tool}/{{tenant_id}}")


def test_alarms_notify_only_with_a_topic(template: Template) -> None:
    res = resources(template)
    for camel in TOOLS.values():
        for suffix in ("DeadLetterAlarm", "WebhookErrorsAlarm", "WorkerErrorsAlarm"):
            alarm = res[f"{camel}{suffix}"]
            assert alarm["Type"] == "AWS::CloudWatch::Alarm"
            assert alarm["Properties"]["AlarmActions"] == {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}],
            }


def test_webhook_api_access_logs(template: Template) -> None:
    res = resources(template)
    settings = res["WebhookApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["WebhookApiAccessLogs", "Arn"]}
    assert "$context.requestId" in settings["Format"]
    for secret_bearing in ("header", "body", "authorizer"):  # no signature, token or ticket text
        assert secret_bearing not in settings["Format"].lower()
    assert res["WebhookApiAccessLogs"]["Properties"]["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}


def test_checkov_skips_are_justified(template: Template) -> None:
    """`make proof` runs checkov: every finding left is skipped on purpose, with its reason."""
    skipped = 0
    for logical_id, resource in resources(template).items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert set(skip) == {"id", "comment"}, logical_id
            assert skip["id"].startswith("CKV_AWS_"), logical_id
            assert len(skip["comment"]) > 40, (logical_id, skip["id"])
            skipped += 1
    assert skipped > 0
    for table_id in ("TenantsTable", "JobsTable", "ContextTable"):
        props = resources(template)[table_id]["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_workers_join_a_vpc_only_when_the_operator_names_subnets(
    template: Template, tool: str, camel: str
) -> None:
    """Issue 15: on-prem tools on private networks; the allowed private networks reach the worker only."""
    parameters = template["Parameters"]
    assert parameters["WorkerSubnetIds"]["Default"] == ""
    assert parameters["AllowedPrivateCidrs"]["Default"] == ""
    assert template["Conditions"]["WorkersInVpc"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "WorkerSubnetIds"}]}, ""]}]
    }
    worker = resources(template)[f"{camel}WorkerFunction"]["Properties"]
    assert worker["VpcConfig"]["Fn::If"][0] == "WorkersInVpc"
    assert worker["VpcConfig"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert worker["Environment"]["Variables"]["ALLOWED_PRIVATE_CIDRS"] == {"Ref": "AllowedPrivateCidrs"}
    webhook = resources(template)[f"{camel}WebhookFunction"]["Properties"]
    assert "VpcConfig" not in webhook
    assert "ALLOWED_PRIVATE_CIDRS" not in webhook["Environment"]["Variables"]


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_failures_a_person_must_act_on_are_alarmed(template: Template, tool: str, camel: str) -> None:
    from ticket_enhancer.plugins.errors import VendorAuthError, VendorNotePublicError

    for metric in (VendorAuthError.alarm, VendorNotePublicError.alarm):
        properties = resources(template)[f"{camel}{metric}Alarm"]["Properties"]
        assert properties["MetricName"] == metric
        assert properties["Threshold"] == 1


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_worker_alarms_name_the_dimensions_the_worker_emits(
    template: Template, tool: str, camel: str
) -> None:
    """Powertools adds ``service`` (POWERTOOLS_SERVICE_NAME) to the worker's ``tool`` dimension; an
    alarm on fewer dimensions watches a metric nothing emits and never fires."""
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    expected = [{"Name": "tool", "Value": tool}, {"Name": "service", "Value": service}]
    for name in ("JobsFailedAlarm", "VendorCredentialsRefusedAlarm", "NotesMadePublicAlarm"):
        assert resources(template)[f"{camel}{name}"]["Properties"]["Dimensions"] == expected


# -- the ops functions (tenants sync / preview, scheduled syncs) and the index bucket ----------------
@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_ops_function_reads_api_secrets_never_webhook_secrets(
    template: Template, tool: str, camel: str
) -> None:
    ops = f"{camel}OpsFunction"
    assert resources_for(template, ops, "secretsmanager:GetSecretValue") == [{"Fn::Sub": SECRET_ARN % tool}]
    denied = [
        resource
        for stmt in statements(template, ops)
        if stmt["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in as_list(stmt["Action"])
        for resource in as_list(stmt["Resource"])
    ]
    assert denied == [{"Fn::Sub": WEBHOOK_SECRET_ARN % tool}]
    # nothing else: no queue, no jobs or deliveries table, no other tool's secrets
    actions = {
        a for stmt in statements(template, ops) if stmt["Effect"] == "Allow" for a in as_list(stmt["Action"])
    }
    assert not any(a.startswith("sqs:") for a in actions)
    for table in ("JobsTable", "DeliveriesTable"):
        for stmt in statements(template, ops):
            assert {"Fn::GetAtt": [table, "Arn"]} not in as_list(stmt["Resource"]), table
    assert resources_for(template, ops, "dynamodb:Scan") == [{"Fn::GetAtt": ["TenantsTable", "Arn"]}]
    assert resources_for(template, ops, "dynamodb:PutItem") == [{"Fn::GetAtt": ["ContextTable", "Arn"]}]
    assert resources_for(template, ops, "s3:PutObject") == [{"Fn::Sub": "${ContextIndexBucket.Arn}/*"}]
    # publishing deletes the tenant's older index versions (index_store.IndexStore.delete_older)
    assert resources_for(template, ops, "s3:DeleteObject") == [{"Fn::Sub": "${ContextIndexBucket.Arn}/*"}]
    for stmt in statements(template, ops):
        for action in as_list(stmt["Action"]):
            assert "*" not in action, action


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_ops_function_runs_daily_and_continues_unfinished_syncs(
    template: Template, tool: str, camel: str
) -> None:
    props = resources(template)[f"{camel}OpsFunction"]["Properties"]
    assert props["Timeout"] == 900
    assert props["Handler"] == f"{tool}_ops.handler"
    assert props["Environment"]["Variables"]["CONTEXT_INDEX_BUCKET"] == {"Ref": "ContextIndexBucket"}
    events = props["Events"]
    daily, more = events[f"{camel}DailySync"]["Properties"], events[f"{camel}SyncContinue"]["Properties"]
    assert events[f"{camel}DailySync"]["Type"] == "ScheduleV2"
    assert daily["ScheduleExpression"] == {"Ref": "SyncSchedule"}
    assert json.loads(daily["Input"]) == {"action": "scheduled"}
    assert json.loads(more["Input"]) == {"action": "continue"}
    assert template["Parameters"]["SyncSchedule"]["Default"] == "rate(1 day)"
    assert daily["State"] == more["State"] == {"Ref": "SyncScheduleState"}


def test_index_bucket_is_private_encrypted_and_expires_old_versions(template: Template) -> None:
    bucket = resources(template)["ContextIndexBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    lifecycle = props["LifecycleConfiguration"]["Rules"][0]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert lifecycle["ExpiredObjectDeleteMarker"] is True  # markers left over no version go too
    policy = resources(template)["ContextIndexBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[0]["Effect"] == "Deny"
    assert policy[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(("tool", "camel"), TOOL_PARAMS)
def test_workers_read_the_index_and_only_the_ops_function_writes_it(
    template: Template, tool: str, camel: str
) -> None:
    worker, ops = f"{camel}WorkerFunction", f"{camel}OpsFunction"
    assert resources_for(template, worker, "s3:GetObject") == [{"Fn::Sub": INDEX_OBJECTS}]
    assert resources_for(template, worker, "s3:PutObject") == []
    assert resources_for(template, ops, "s3:PutObject") == [{"Fn::Sub": INDEX_OBJECTS}]
    index_layer = [{"Fn::If": ["IsArm64", {"Ref": "IndexLayerArm64"}, {"Ref": "IndexLayer"}]}]
    for function_id in (worker, ops):
        props = resources(template)[function_id]["Properties"]
        assert props["Environment"]["Variables"]["CONTEXT_INDEX_BUCKET"] == {"Ref": "ContextIndexBucket"}
        assert props["Layers"] == index_layer  # added to the Globals' layers
    assert "Layers" not in resources(template)[f"{camel}WebhookFunction"]["Properties"]


@pytest.mark.parametrize("minimum", [0, 30])
def test_retention_day_patterns_accept_exactly_the_whole_days_settings_accept(minimum: int) -> None:
    import re

    from scripts.template.parameters import days_pattern

    pattern = re.compile(days_pattern(minimum))
    for value in range(5000):
        assert bool(pattern.match(str(value))) == (minimum <= value <= 3650), value
    for raw in ("45.5", "1e2", "-1", " 90", "090", ""):
        assert not pattern.match(raw), raw
