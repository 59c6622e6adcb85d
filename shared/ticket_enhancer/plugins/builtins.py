"""The static registry: the built-in tools, known by name at build time, imported lazily.

Adding a tool: one folder under ``plugins/``, one line here, two functions in the template.
"""

from __future__ import annotations

BUILTIN_PLUGINS: dict[str, str] = {
    "jira": "ticket_enhancer.plugins.jira.plugin:JiraPlugin",
    "zendesk": "ticket_enhancer.plugins.zendesk.plugin:ZendeskPlugin",
    "servicenow": "ticket_enhancer.plugins.servicenow.plugin:ServiceNowPlugin",
    "freshservice": "ticket_enhancer.plugins.freshservice.plugin:FreshservicePlugin",
    "servicedesk_plus": "ticket_enhancer.plugins.servicedesk_plus.plugin:ServiceDeskPlusPlugin",
    "zammad": "ticket_enhancer.plugins.zammad.plugin:ZammadPlugin",
}
