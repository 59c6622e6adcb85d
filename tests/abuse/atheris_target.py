"""A coverage-guided fuzz target (atheris / libFuzzer) for every plugin's webhook parsing.

Run by ``test_abuse.py`` in a subprocess with a bounded number of runs; by hand:
``python tests/abuse/atheris_target.py -runs=200000 -max_len=4096 CORPUS_DIR``.
The first byte picks the tool and the auth mode, the rest is the body. ``extract_metadata`` may
raise only ``WebhookPayloadError`` or pydantic's ``ValidationError`` (both answered 400) or
``WebhookEventIgnoredError`` (answered 200 ignored); anything
else is a crash, and so is a ticket id the REST paths would not accept.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["ticket_enhancer"]):
    from pydantic import ValidationError
    from ticket_enhancer.models import TenantConfig, TenantSecret
    from ticket_enhancer.plugins import base, fields
    from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
    from ticket_enhancer.plugins.errors import WebhookEventIgnoredError, WebhookPayloadError
    from ticket_enhancer.plugins.freshservice import plugin as freshservice
    from ticket_enhancer.plugins.jira import plugin as jira
    from ticket_enhancer.plugins.servicedesk_plus import plugin as servicedesk_plus
    from ticket_enhancer.plugins.servicenow import plugin as servicenow
    from ticket_enhancer.plugins.zendesk import plugin as zendesk

PLUGINS: list[base.TicketingToolPlugin] = [
    jira.JiraPlugin(),
    zendesk.ZendeskPlugin(),
    servicenow.ServiceNowPlugin(),
    freshservice.FreshservicePlugin(),
    servicedesk_plus.ServiceDeskPlusPlugin(),
]
MODES = (None, "standard-webhooks", "shared-token")
_ = fields  # instrumented: the plugins' field readers


def tenant(plugin: base.TicketingToolPlugin, mode: str | None) -> TenantContext:
    tool = plugin.__tool_type__
    config = TenantConfig(
        tenant_id="acme",
        tool_type=tool,
        base_url="https://acme.example.com",
        webhook_auth=mode,
        secret_id=f"ticket-enhancer/{tool}/acme",
    )
    return TenantContext(config=config, secret=TenantSecret.model_validate({"webhook_secrets": ["s" * 16]}))


TENANTS = [[tenant(p, m) for m in MODES] for p in PLUGINS]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    plugin_index, mode_index = data[0] % len(PLUGINS), (data[0] // len(PLUGINS)) % len(MODES)
    request = WebhookRequest(
        body=data[1:],
        headers=Headers({"webhook-id": "msg_1", "x-atlassian-webhook-identifier": "d-1"}),
        path_parameters={"tenant_id": "acme"},
    )
    try:
        meta = PLUGINS[plugin_index].extract_metadata(request, TENANTS[plugin_index][mode_index])
    except (WebhookPayloadError, WebhookEventIgnoredError, ValidationError):
        return
    if not base.TICKET_ID_RE.fullmatch(meta.ticket_id):
        raise AssertionError(f"ticket id {meta.ticket_id!r} escaped the check")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
