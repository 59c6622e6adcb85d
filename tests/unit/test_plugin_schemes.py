"""A plugin declares its own webhook auth scheme (``TicketingToolPlugin.webhook_schemes``) and the
rest of the system finds it there: the base class verifies with it, ``auth_modes`` lists it,
``sign()`` and the CLI's setup guide look it up through the plugin, and the registry checks it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any, ClassVar

import pytest
from ticket_enhancer.models import TenantConfig, TenantSecret
from ticket_enhancer.plugins import PluginManager, PluginValidationError
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.registry import validate_plugin
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import find_scheme, sign
from ticket_enhancer_dev.cli.setup_guides import setup_text

from tests.unit.fake_plugins.stub import StubPlugin

BODY = b'{"id": "42"}'
SECRET = "acme-desk-secret-0123456789"
ACME_HMAC = schemes.hmac_hex_scheme(
    "acme-hmac",
    header="X-Acme-Signature",
    prefix="sha512=",
    algorithm="sha512",
    delivery_id_header="X-Acme-Delivery",
    setup_line="Secret:  paste the secret above into Acme's signing field",
)


class AcmePlugin(StubPlugin):
    __tool_type__ = "acme_desk"
    __version__ = "1.0.0"
    webhook_schemes: ClassVar[tuple[schemes.WebhookScheme, ...]] = (ACME_HMAC,)
    default_auth_mode = "acme-hmac"


def tenant(mode: str | None = None, secrets: list[str] | None = None) -> TenantContext:
    config = TenantConfig(
        tenant_id="t1",
        tool_type="acme_desk",
        base_url="https://desk.acme.example",
        webhook_auth=mode,
        secret_id="ticket-enhancer/acme_desk/t1",
    )
    document: dict[str, Any] = {"webhook_secrets": secrets or [SECRET]}
    return TenantContext(config=config, secret=TenantSecret.model_validate(document))


def request(headers: dict[str, str], body: bytes = BODY) -> WebhookRequest:
    return WebhookRequest(body=body, headers=Headers({k.lower(): v for k, v in headers.items()}))


def valid(plugin: AcmePlugin, headers: dict[str, str], context: TenantContext | None = None) -> bool:
    return asyncio.run(plugin.validate_webhook(request(headers), context or tenant()))


def test_the_plugin_scheme_is_a_mode_of_the_plugin_only() -> None:
    assert AcmePlugin.auth_modes == {"acme-hmac", schemes.STANDARD_WEBHOOKS, schemes.SHARED_TOKEN}
    assert AcmePlugin.webhook_scheme("acme-hmac") is ACME_HMAC
    assert AcmePlugin.webhook_scheme(schemes.SHARED_TOKEN) is schemes.SHARED
    assert AcmePlugin.webhook_scheme(schemes.JIRA_HMAC) is None
    assert StubPlugin.webhook_scheme("acme-hmac") is None  # the base class is untouched


def test_hmac_hex_scheme_signs_and_verifies_like_the_sender() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha512).hexdigest()
    signed = ACME_HMAC.sign(BODY, SECRET, 0.0, "d-1")
    assert signed == {"X-Acme-Signature": f"sha512={digest}", "X-Acme-Delivery": "d-1"}
    plugin = AcmePlugin()
    assert valid(plugin, signed)
    assert valid(plugin, {"x-acme-signature": f"SHA512={digest.upper()}"})  # case of prefix and hex
    assert not valid(plugin, {"X-Acme-Signature": f"sha256={digest}"})
    assert not valid(plugin, {"X-Acme-Signature": digest})  # no prefix
    assert not valid(plugin, ACME_HMAC.sign(BODY, SECRET + "x", 0.0, None))
    assert not valid(plugin, ACME_HMAC.sign(b'{"id": "43"}', SECRET, 0.0, None))
    assert not valid(plugin, {"X-Acme-Signature": "sha512=" + "0" * 5000})  # oversized header
    assert not valid(plugin, {})


def test_weak_secrets_never_authenticate_in_a_plugin_scheme() -> None:
    """Whatever the store holds (the secret model refuses weak ones before this)."""
    for weak in ("", "short", " " * 40, "fifteen-bytes!!"):
        forged = ACME_HMAC.sign(BODY, weak, 0.0, None)
        assert not ACME_HMAC.verify(request(forged), [SECRET, weak], 0.0)
        assert not ACME_HMAC.verify(request(forged), [weak], 0.0)


def test_the_tenant_mode_picks_the_scheme() -> None:
    plugin = AcmePlugin()
    token = {"X-Webhook-Token": SECRET}
    assert not valid(plugin, token)  # default: acme-hmac
    assert valid(plugin, token, tenant(schemes.SHARED_TOKEN))
    assert not valid(plugin, schemes.JIRA.sign(BODY, SECRET, 0.0, None), tenant(schemes.JIRA_HMAC))


def test_an_unsigned_delivery_header_is_the_fallback_delivery_id() -> None:
    plugin = AcmePlugin()
    headers = ACME_HMAC.sign(BODY, SECRET, 0.0, "delivery-7")
    meta = plugin.extract_metadata(request(headers), tenant())
    assert meta.delivery_id == "delivery-7"


def test_sign_and_the_setup_guide_find_the_scheme_through_the_plugin() -> None:
    manager = PluginManager()
    manager.register_plugin("acme_desk", AcmePlugin())
    try:
        assert find_scheme("acme-hmac") is ACME_HMAC
        assert sign("acme-hmac", BODY, SECRET, tool="acme_desk", delivery_id="d") == ACME_HMAC.sign(
            BODY, SECRET, 0.0, "d"
        )
        with pytest.raises(ValueError, match="not supported by acme_desk"):
            sign(schemes.JIRA_HMAC, BODY, SECRET, tool="acme_desk")
    finally:
        manager.unregister_plugin("acme_desk")
    with pytest.raises(ValueError, match="unknown auth mode 'acme-hmac'"):
        find_scheme("acme-hmac")
    lines = setup_text(AcmePlugin(), "acme-hmac", "https://hooks.example/acme")
    assert lines[-1] == ACME_HMAC.setup_line


def test_the_registry_checks_a_plugins_schemes() -> None:
    class Shadowing(AcmePlugin):
        webhook_schemes = (
            schemes.WebhookScheme(schemes.SHARED_TOKEN, ACME_HMAC.verify, ACME_HMAC.sign, "x"),
        )
        default_auth_mode = schemes.SHARED_TOKEN

    class NoScheme(AcmePlugin):
        webhook_schemes: ClassVar[tuple[schemes.WebhookScheme, ...]] = ()
        default_auth_mode = "acme-hmac"

    with pytest.raises(PluginValidationError, match="redefines the common webhook scheme 'shared-token'"):
        validate_plugin("acme_desk", Shadowing())
    with pytest.raises(PluginValidationError, match="no webhook scheme of that name"):
        validate_plugin("acme_desk", NoScheme())
    assert validate_plugin("acme_desk", AcmePlugin())


def test_an_unknown_algorithm_fails_when_the_scheme_is_made() -> None:
    with pytest.raises(ValueError, match="unsupported hash type"):
        schemes.hmac_hex_scheme("x", header="X-Sig", prefix="", algorithm="nope", setup_line="")
