"""Enhancement: gather a ticket's context (similar tickets, knowledge, assets) and write the note.

Nothing is imported here eagerly: each public name is loaded from its module on first access, so
importing the package costs nothing (the worker imports only what it uses).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ticket_enhancer.enhance.bm25 import rank, tokenize
    from ticket_enhancer.enhance.context import EnhancementContext
    from ticket_enhancer.enhance.errors import ContextStoreError, SynthesisError
    from ticket_enhancer.enhance.network import Indicators, extract_indicators, match_assets
    from ticket_enhancer.enhance.note import compose_offline_note
    from ticket_enhancer.enhance.pipeline import Enhancement, Pipeline, PipelineStep, build_default_pipeline
    from ticket_enhancer.enhance.prompt import Prompt, build_prompt
    from ticket_enhancer.enhance.records import Article, Asset, AssetMatch, GatheredContext, IndexedTicket
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.synthesis import (
        BedrockProvider,
        OfflineProvider,
        OpenAICompatibleProvider,
        SynthesisProvider,
        SynthesisResult,
        choose_provider,
        synthesize_note,
    )

_EXPORTS: dict[str, str] = {
    "Article": "records",
    "Asset": "records",
    "AssetMatch": "records",
    "BedrockProvider": "synthesis",
    "ContextStore": "store",
    "ContextStoreError": "errors",
    "Enhancement": "pipeline",
    "EnhancementContext": "context",
    "GatheredContext": "records",
    "IndexedTicket": "records",
    "Indicators": "network",
    "OfflineProvider": "synthesis",
    "OpenAICompatibleProvider": "synthesis",
    "Pipeline": "pipeline",
    "PipelineStep": "pipeline",
    "Prompt": "prompt",
    "SynthesisError": "errors",
    "SynthesisProvider": "synthesis",
    "SynthesisResult": "synthesis",
    "build_default_pipeline": "pipeline",
    "build_prompt": "prompt",
    "choose_provider": "synthesis",
    "compose_offline_note": "note",
    "extract_indicators": "network",
    "match_assets": "network",
    "rank": "bm25",
    "synthesize_note": "synthesis",
    "tokenize": "bm25",
}

__all__ = [
    "Article",
    "Asset",
    "AssetMatch",
    "BedrockProvider",
    "ContextStore",
    "ContextStoreError",
    "Enhancement",
    "EnhancementContext",
    "GatheredContext",
    "IndexedTicket",
    "Indicators",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "Pipeline",
    "PipelineStep",
    "Prompt",
    "SynthesisError",
    "SynthesisProvider",
    "SynthesisResult",
    "build_default_pipeline",
    "build_prompt",
    "choose_provider",
    "compose_offline_note",
    "extract_indicators",
    "match_assets",
    "rank",
    "synthesize_note",
    "tokenize",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
