"""Lambda entry point: zammad ops function (tenants sync and preview, scheduled syncs)."""

from ticket_enhancer.ops.handler import make_ops_handler

handler = make_ops_handler("zammad")
