"""After an import: the tenant's search index built from its stored records and published.

:class:`PublishedIndex` is the engine's ``IndexBuilder`` in the deployment: it reads the tenant's
imported history (``<tenant>#ticket`` items the sync wrote) and every article (``<tenant>#kb``:
synced and CLI-loaded), builds the index (``enhance.index.build_index``: bm25s, imported here, on the
first build) and publishes it (``enhance.index_store.IndexStore``: a new S3 object, then the
pointer the workers read). Processed tickets are not in it: the workers read the newest of those
directly (``ContextStore.recent_tickets``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.sync.store import DynamoRecordStore

logger = logging.getLogger(__name__)


class PublishedIndex:
    def __init__(self, records: DynamoRecordStore, store: IndexStore) -> None:
        self.records, self.store = records, store

    def build(self, tenant_id: str) -> None:
        from ticket_enhancer.enhance.index import build_index

        started = time.perf_counter()
        index = build_index(
            tenant_id,
            self.records.iter_tickets(tenant_id, origin="history"),
            self.records.iter_articles(tenant_id),
        )
        pointer = self.store.publish(index)
        logger.info(
            "index published",
            extra={
                "tenant_id": tenant_id,
                "tickets": pointer.tickets,
                "articles": pointer.articles,
                "bytes": pointer.size,
                "build_ms": round((time.perf_counter() - started) * 1000),
            },
        )
