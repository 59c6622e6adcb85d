"""Bad input to `ticket-enhancer`: one line on stderr, exit code 2, nothing changed.

Every case runs against a moto-backed `--stack` holding two tenants with knowledge and assets;
"nothing changed" compares every table item, every secret (values included), every queue depth and
every event source mapping state before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import Deployment, Run
from tests.support import BASE_URLS

ZENDESK_SECRET = "zendesk-signing-secret-0123456789"
GOOD_ARTICLE = json.dumps({"title": "VPN", "body": "Restart it.", "url": "https://kb.acme.example/vpn"})
FILES = {
    "bad-json.jsonl": f"{GOOD_ARTICLE}\n{GOOD_ARTICLE[:-1]}\n{GOOD_ARTICLE}\n",
    "missing-field.jsonl": f"{GOOD_ARTICLE}\n\n" + json.dumps({"title": "t", "body": "b"}) + "\n",
    "not-object.jsonl": f"{GOOD_ARTICLE}\n[1, 2]\n",
    "bad-url.jsonl": json.dumps({"title": "t", "body": "b", "url": "javascript:alert(1)"}) + "\n",
    "short-row.csv": "cidr_or_host,name,notes\n10.0.0.0/8,corp,all\nlonely\n",
    "bad-host.csv": "10.0.0.0/8,corp,all\n192.0.2.0/24,lab,x\nnot a host!,junk,\n",
    "not-utf8.csv": "",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("cli-input")
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "not-utf8.csv").write_bytes(b"10.0.0.0/8,corp,\xff\xfe\n")
    (tmp_path / "good.jsonl").write_text(GOOD_ARTICLE + "\n", encoding="utf-8")
    (tmp_path / "good.csv").write_text("10.0.0.0/8,corp,all\n", encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def seeded(files: Path) -> Iterator[Deployment]:
    """One stack for the module: tenants `acme` (jira) and `zen` (zendesk), with knowledge and assets.

    Shared safely: every test compares its own before/after snapshot.
    """
    from tests.cli_support import deploy
    from tests.support import moto_world

    with moto_world() as world:
        yield seed(deploy(world), files)


def seed(deployed: Deployment, tmp_path: Path) -> Deployment:
    for tenant_id, tool in (("acme", "jira"), ("zen", "zendesk")):
        extra = ["--webhook-secret", ZENDESK_SECRET] if tool == "zendesk" else []
        run = deployed.cli("tenants", "add", tenant_id, "--tool", tool, "--base-url", BASE_URLS[tool], *extra)
        assert run.code == 0, run.err
        assert deployed.cli("tenants", "knowledge", tenant_id, str(tmp_path / "good.jsonl")).code == 0
        assert deployed.cli("tenants", "assets", tenant_id, str(tmp_path / "good.csv")).code == 0
    return deployed


def assert_one_line_error(run: Run, *fragments: str) -> None:
    assert run.code == 2, (run.out, run.err)
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("ticket-enhancer"), lines[0]
    assert ": error: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def add_args(tenant_id: str, tool: str, base_url: str, *extra: str) -> list[str]:
    return ["tenants", "add", tenant_id, "--tool", tool, "--base-url", base_url, *extra]


JIRA = BASE_URLS["jira"]
SDP_CUSTOM = "--allow-custom-host"

ADD_CASES: list[tuple[list[str], str]] = [
    # unknown tool
    (add_args("t1", "acme_desk", JIRA), "unknown tool 'acme_desk'"),
    # malformed URLs
    (add_args("t1", "jira", "https://[::1"), "malformed"),
    (add_args("t1", "jira", "https://acme.atlassian.net:99999"), "malformed"),
    (add_args("t1", "jira", "acme.atlassian.net"), "no host"),
    (add_args("t1", "jira", "https://acme .atlassian.net"), "whitespace"),
    (add_args("t1", "jira", "https://user:pw@acme.atlassian.net"), "credentials"),
    (add_args("t1", "jira", "https://acme.atlassian.net/?next=x"), "query"),
    (add_args("t1", "jira", "https://evil.example\\.atlassian.net"), "not a valid host name"),
    # not https
    (add_args("t1", "jira", "http://acme.atlassian.net"), "https"),
    (add_args("t1", "jira", "ftp://acme.atlassian.net"), "https"),
    # off the tool's domain
    (add_args("t1", "jira", "https://acme.zendesk.com"), "not a jira host"),
    (add_args("t1", "jira", "https://acme.atlassian.net.evil.example"), "not a jira host"),
    (add_args("t1", "jira", "https://evilatlassian.net"), "not a jira host"),
    (add_args("t1", "jira", "https://atlassian.net"), "not a jira host"),
    (add_args("t1", "servicedesk_plus", "https://sdp.acme.example"), "not a servicedesk_plus host"),
    (add_args("t1", "jira", "https://acme.atlassian.net:8443"), "default https port"),
    (
        add_args("t1", "jira", "https://jira.acme.example", SDP_CUSTOM),
        "--allow-custom-host is not available for jira",
    ),
    # IP literals (any form a resolver accepts)
    (add_args("t1", "jira", "https://203.0.113.5"), "not an IP address"),
    (add_args("t1", "jira", "https://[2001:db8::1]"), "not an IP address"),
    (add_args("t1", "servicedesk_plus", "https://203.0.113.5", SDP_CUSTOM), "not an IP address"),
    (add_args("t1", "servicedesk_plus", "https://2130706433", SDP_CUSTOM), "not an IP address"),
    (add_args("t1", "servicedesk_plus", "https://127.1", SDP_CUSTOM), "not an IP address"),
    # private, loopback, link-local (the stack is not local)
    (add_args("t1", "jira", "http://127.0.0.1:3000/_sandbox/jira"), "https"),
    (add_args("t1", "jira", "https://localhost"), "local or internal"),
    (add_args("t1", "servicedesk_plus", "https://localhost:8443", SDP_CUSTOM), "local or internal"),
    (add_args("t1", "servicedesk_plus", "https://sdp.corp.internal", SDP_CUSTOM), "local or internal"),
    (add_args("t1", "jira", "http://169.254.169.254/latest/meta-data"), "https"),
    (add_args("t1", "servicedesk_plus", "https://169.254.169.254", SDP_CUSTOM), "not an IP address"),
    (add_args("t1", "servicedesk_plus", "https://10.1.2.3", SDP_CUSTOM), "not an IP address"),
    (add_args("t1", "servicedesk_plus", "https://[::ffff:192.168.0.1]", SDP_CUSTOM), "not an IP address"),
    # tenant ids
    (add_args("../x", "jira", JIRA), "tenant id '../x'"),
    (add_args("a/b", "jira", JIRA), "tenant id 'a/b'"),
    (add_args("x" * 65, "jira", JIRA), "tenant id"),
    (add_args("acme#kb", "jira", JIRA), "tenant id 'acme#kb'"),
    # already exists (also under another tool)
    (add_args("acme", "jira", JIRA), "tenant 'acme' already exists"),
    (add_args("zen", "freshservice", BASE_URLS["freshservice"]), "tenant 'zen' already exists"),
    # zendesk brings its own secret
    (add_args("z2", "zendesk", BASE_URLS["zendesk"]), "--webhook-secret"),
    # options
    (add_args("t1", "jira", JIRA, "--option", "synthesis_provider"), "KEY=VALUE"),
    (add_args("t1", "jira", JIRA, "--option", "=offline"), "KEY=VALUE"),
    (add_args("t1", "jira", JIRA, "--option", "synthesis_provider=gpt"), "synthesis_provider must be one of"),
    (add_args("t1", "jira", JIRA, "--option", "triage=auto"), "triage must be one of suggest, off"),
    # auth modes and secrets
    (add_args("t1", "jira", JIRA, "--webhook-auth", "basic"), "--webhook-auth 'basic' is not supported"),
    (
        add_args("t1", "servicenow", BASE_URLS["servicenow"], "--webhook-auth", "jira-hmac"),
        "not supported by servicenow",
    ),
    (add_args("t1", "jira", JIRA, "--webhook-secret", "short"), "at least 16"),
    (
        add_args("t1", "servicenow", BASE_URLS["servicenow"], "--webhook-secret", "not-a-whsec-secret-12345"),
        "whsec_",
    ),
]


@pytest.mark.parametrize(("argv", "fragment"), ADD_CASES, ids=[" ".join(c[0][2:]) for c in ADD_CASES])
def test_bad_tenants_add_changes_nothing(seeded: Deployment, argv: list[str], fragment: str) -> None:
    before = seeded.snapshot()

    run = seeded.cli(*argv)

    assert_one_line_error(run, fragment)
    assert seeded.snapshot() == before


TENANT_CASES: list[tuple[list[str], str]] = [
    *[(["tenants", action, "nobody"], "unknown tenant 'nobody'") for action in ("show", "enable", "disable")],
    (["tenants", "remove", "nobody"], "unknown tenant 'nobody'"),
    (["tenants", "rotate-secret", "nobody"], "unknown tenant 'nobody'"),
    (["tenants", "knowledge", "nobody", "{tmp}/good.jsonl"], "unknown tenant 'nobody'"),
    (["tenants", "assets", "nobody", "{tmp}/good.csv"], "unknown tenant 'nobody'"),
    (["tenants", "show", "../acme"], "tenant id '../acme'"),
    (["tenants", "remove", "acme/../zen"], "tenant id"),
    (["tenants", "remove", "*"], "tenant id"),
    (["tenants", "disable", "acme#kb"], "tenant id"),
    (["tenants", "rotate-secret", "zen"], "--webhook-secret"),
    (["tenants", "rotate-secret", "acme", "--webhook-secret", "short"], "at least 16"),
    (["tenants", "knowledge", "acme", "{tmp}/bad-json.jsonl"], "bad-json.jsonl:2: not valid JSON"),
    (["tenants", "knowledge", "acme", "{tmp}/missing-field.jsonl"], "missing-field.jsonl:3: needs"),
    (["tenants", "knowledge", "acme", "{tmp}/not-object.jsonl"], "not-object.jsonl:2:"),
    (["tenants", "knowledge", "acme", "{tmp}/bad-url.jsonl"], "bad-url.jsonl:1: url must be http(s)"),
    (["tenants", "knowledge", "acme", "{tmp}/no-such-file.jsonl"], "cannot read"),
    (["tenants", "assets", "acme", "{tmp}/short-row.csv"], "short-row.csv:3: expected cidr_or_host,name"),
    (["tenants", "assets", "acme", "{tmp}/bad-host.csv"], "bad-host.csv:3:"),
    (["tenants", "assets", "acme", "{tmp}/not-utf8.csv"], "cannot read"),
    (["plugins", "pause", "acme_desk"], "unknown tool 'acme_desk'"),
    (["plugins", "resume", "Jira"], "unknown tool 'Jira'"),
    (["dlq", "list", "--tool", "acme_desk"], "unknown tool 'acme_desk'"),
    (["dlq", "redrive", "--tool", "acme_desk"], "unknown tool 'acme_desk'"),
]


@pytest.mark.parametrize(
    ("argv", "fragment"), TENANT_CASES, ids=[" ".join(c[0]).replace("{tmp}/", "") for c in TENANT_CASES]
)
def test_bad_input_to_other_commands_changes_nothing(
    seeded: Deployment, files: Path, argv: list[str], fragment: str
) -> None:
    before = seeded.snapshot()

    run = seeded.cli(*(a.replace("{tmp}", str(files)) for a in argv))

    assert_one_line_error(run, fragment)
    assert seeded.snapshot() == before


NO_TARGET_CASES: list[tuple[list[str], str]] = [
    (["tenants", "list"], "choose a target: --local"),
    (add_args("t1", "jira", JIRA), "choose a target"),
    (["tenants", "remove", "acme"], "choose a target"),
    (["plugins", "pause", "jira"], "choose a target"),
    (["dlq", "redrive"], "choose a target"),
    (["tenants", "remove", "acme", "--local", "--stack", "x"], "choose one target"),
    (["tenants", "remove", "acme", "--stack", "no-such-stack"], "stack 'no-such-stack' not found"),
    # argparse: unknown command, unknown action, missing arguments, bad values
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["tenants"], "required"),
    (["tenants", "purge", "acme"], "invalid choice: 'purge'"),
    (["tenants", "add", "t1", "--base-url", JIRA], "the following arguments are required: --tool"),
    (["tenants", "show"], "the following arguments are required: tenant_id"),
    (["tenants", "knowledge", "acme"], "required"),
    (["plugins", "pause"], "required: tool"),
    (["sign", "jira"], "required: --secret"),
    (["tenants", "list", "--bogus"], "unrecognized arguments: --bogus"),
    (["local", "up", "--port", "http"], "invalid int value"),
    # sign: not a deployment, still bad input
    (["sign", "acme_desk", "--secret", "x" * 20], "unknown tool 'acme_desk'"),
    (
        ["sign", "servicenow", "--secret", "x" * 20, "--mode", "jira-hmac"],
        "--mode 'jira-hmac' is not supported",
    ),
    (["sign", "servicenow", "--secret", "not-whsec-0123456789"], "whsec_"),
    (["sign", "jira", "--secret", "x" * 20, "--body", "/no/such/body.json"], "cannot read"),
]


@pytest.mark.parametrize(("argv", "fragment"), NO_TARGET_CASES, ids=[" ".join(c[0]) for c in NO_TARGET_CASES])
def test_bad_target_or_arguments_change_nothing(
    seeded: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .ticket-enhancer/local.json here
    before = seeded.snapshot()

    run = seeded.cli(*argv, target=False)

    assert_one_line_error(run, fragment)
    assert seeded.snapshot() == before


def test_local_without_a_running_stack_is_one_line(
    seeded: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)

    run = seeded.cli("tenants", "list", "--local", target=False)

    assert_one_line_error(run, "no local stack is running")
