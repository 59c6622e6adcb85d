"""Context lookup at tenant scale: the per-tenant index against tenant size and against today's read.

One synthetic tenant of ``large`` history tickets and articles (100,000 / 5,000; ``--small``: 5,000 /
250) and one of 1,000 / 50, each indexed (:func:`~ticket_enhancer.enhance.index.build_index`) and
published to S3 with its pointer in the ContextTable. DynamoDB and S3 are in-memory fakes whose
answers go through JSON encode + decode, the decode work botocore does (moto, which the
integration tests use for behaviour, spends up to a second per ``Query`` serialising a partition
of 500 items in process, which would measure moto, not us). A lookup is what one job's
similar-ticket and knowledge steps do: the pointer ``GetItem`` (not cached here: every job pays
it), the index (loaded once per version), one ``Query`` + one ``BatchGetItem`` of the 100 newest
processed tickets, the fused search and the best passages. Figures, all measured in this run:

* lookup p50, large tenant vs small tenant (budget 1.5x: cost must not grow with the tenant);
* lookup p50 vs today's read of the same tenant (``Query`` of 500 processed tickets, BM25 over them,
  and the cached articles ranked; budget 0.2x);
* AWS reads per job (counted on the clients);
* index build vs decoding the same records from JSON (budget 5x);
* the worker's resident memory with the large index loaded (a fresh interpreter that imports the
  worker's modules and loads the S3 object's bytes; budget 512 MB).
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess  # nosec B404 # our own interpreter with a fixed argument list, never a shell
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"size_ratio": 1.5, "vs_today_ratio": 0.2, "build_vs_decode": 5.0, "rss_mb": 512.0}
TABLE, BUCKET = "context", "bench-index"
SCOPES = 20
RSS_CODE = """
import sys
from pathlib import Path
from ticket_enhancer.enhance.index_codec import decode_index
from ticket_enhancer.enhance.retrieval import find_similar
blob = Path(sys.argv[1]).read_bytes()
index = decode_index(blob, tenant_id="big")
del blob
find_similar("vpn tunnel drops 10.1.2.3", ticket_id="x", scope="P1", index=index, recent=[], k=3)
index.matching_articles("vpn tunnel drops", k=3)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
print(int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)
"""


class Counting:
    """A boto3 client that counts its calls."""

    def __init__(self, client: Any) -> None:
        self._client, self.calls = client, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return call


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(6000)
    ]
    words += ["vpn", "tunnel", "drops", "outlook", "printer", "password", "reset", "disk", "certificate"]
    words += [f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(800)]
    words += [f"host{n}.acme.example" for n in range(400)] + [f"0x8007{n:04x}" for n in range(300)]
    cumulative, total = [], 0.0
    for rank in range(len(words)):
        total += 1.0 / (rank + 1) ** 1.05  # Zipf-like: a few very common words, a long tail
        cumulative.append(total)
    rng.shuffle(words)
    return words, cumulative


def _text(rng: random.Random, vocab: tuple[list[str], list[float]], n: int) -> str:
    return " ".join(rng.choices(vocab[0], cum_weights=vocab[1], k=n))


def make_records(tickets: int, articles: int, seed: int = 7) -> tuple[list[Any], list[Any]]:
    from ticket_enhancer.enhance.records import Article, IndexedTicket

    rng = random.Random(seed)  # noqa: S311 # nosec B311 # synthetic data, not security
    vocab = _vocabulary(rng)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    history = [
        IndexedTicket(
            ticket_id=str(100_000 + n),
            display_key=f"IT-{n}",
            subject=_text(rng, vocab, 6),
            text=_text(rng, vocab, 50),
            url=f"https://acme.atlassian.net/browse/IT-{n}",
            created=(start + timedelta(minutes=n)).isoformat(),
            resolution=_text(rng, vocab, 25),
            resolved=(start + timedelta(minutes=n + 90)).isoformat(),
            status="resolved",
            category="Network",
            group="Service Desk",
            priority="Medium",
            scope=f"P{n % SCOPES}",
        )
        for n in range(tickets)
    ]
    kb = [
        Article(
            f"a{n}",
            _text(rng, vocab, 5),
            "\n\n".join(_text(rng, vocab, 80) for _ in range(6)),
            f"https://kb/{n}",
        )
        for n in range(articles)
    ]
    return history, kb


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class FakeDynamoDB:
    """The ContextTable in memory, answering like DynamoDB over the wire: each answer is encoded to
    JSON and decoded again (the decode work botocore does), ``Query`` pages of at most 1 MB."""

    def __init__(self) -> None:
        self._partitions: dict[str, dict[str, str]] = {}  # pk -> sk -> the item as JSON

    @staticmethod
    def _wire(answer: dict[str, Any]) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(json.dumps(answer))
        return decoded

    def put_item(self, *, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        self._partitions.setdefault(Item["pk"]["S"], {})[Item["sk"]["S"]] = json.dumps(Item)
        return {}

    def batch_write_item(self, *, RequestItems: dict[str, Any], **_: Any) -> dict[str, Any]:
        for requests in RequestItems.values():
            for request in requests:
                self.put_item(TableName="", Item=request["PutRequest"]["Item"])
        return {"UnprocessedItems": {}}

    def update_item(
        self,
        *,
        TableName: str,
        Key: dict[str, Any],
        UpdateExpression: str,
        ExpressionAttributeNames: dict[str, str],
        ExpressionAttributeValues: dict[str, Any],
        **_: Any,
    ) -> dict[str, Any]:
        """``SET #name = :value, ...`` only (the worker's index write)."""
        if not UpdateExpression.startswith("SET "):
            raise NotImplementedError(UpdateExpression)
        found = self._partitions.get(Key["pk"]["S"], {}).get(Key["sk"]["S"])
        item = json.loads(found) if found else dict(Key)
        for clause in UpdateExpression[len("SET ") :].split(", "):
            name, value = clause.split(" = ")
            item[ExpressionAttributeNames.get(name, name)] = ExpressionAttributeValues[value]
        return self.put_item(TableName=TableName, Item=item)

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        found = self._partitions.get(Key["pk"]["S"], {}).get(Key["sk"]["S"])
        return self._wire({"Item": json.loads(found)} if found else {})

    def query(self, **request: Any) -> dict[str, Any]:
        pk = request["ExpressionAttributeValues"][":pk"]["S"]
        partition = self._partitions.get(pk, {})
        keys = sorted(partition, reverse=not request.get("ScanIndexForward", True))
        start = request.get("ExclusiveStartKey")
        if start:
            keys = keys[keys.index(start["sk"]["S"]) + 1 :]
        items, size = [], 0
        for sk in keys[: request.get("Limit", len(keys))]:
            items.append(partition[sk])
            size += len(partition[sk])
            if size >= 1_000_000:
                break
        answer: dict[str, Any] = {"Items": [json.loads(i) for i in items]}
        if items and len(items) < len(keys):
            last = answer["Items"][-1]
            answer["LastEvaluatedKey"] = {"pk": last["pk"], "sk": last["sk"]}
        return self._wire(answer)

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        table, request = next(iter(RequestItems.items()))
        found = [self._partitions.get(k["pk"]["S"], {}).get(k["sk"]["S"]) for k in request["Keys"]]
        return self._wire({"Responses": {table: [json.loads(i) for i in found if i]}, "UnprocessedKeys": {}})


class FakeS3:
    """Objects in memory (the index object is read once per version)."""

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self._objects[Key] = bytes(Body)
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self._objects[Key])}


def _seed_processed(context: Any, tenant_id: str, count: int, rng: random.Random) -> None:
    from ticket_enhancer.models import Ticket

    vocab = _vocabulary(rng)
    for n in range(count):
        context.index_ticket(
            tenant_id,
            Ticket(
                tool_type="jira",
                tenant_id=tenant_id,
                ticket_id=str(900_000 + n),
                display_key=f"IT-9{n}",
                subject=_text(rng, vocab, 6),
                description=_text(rng, vocab, 120),
                url=f"https://acme.atlassian.net/browse/IT-9{n}",
                scope=f"P{n % SCOPES}",
            ),
        )


def _tenants(
    sizes: dict[str, tuple[int, int]],
    dynamodb: Counting,
    s3: Counting,
    rng: random.Random,
    result: dict[str, Any],
) -> tuple[dict[str, tuple[str, Any]], str]:
    """Each tenant indexed, published and given today's items; the large one's build timed."""
    from ticket_enhancer.enhance.index import build_index
    from ticket_enhancer.enhance.index_codec import encode_index
    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.records import Article, IndexedTicket
    from ticket_enhancer.enhance.store import ContextStore

    context = ContextStore(dynamodb, TABLE, cache_seconds=60)  # type: ignore[arg-type]
    workers: dict[str, tuple[str, Any]] = {}
    object_path = ""
    for name, (n_tickets, n_articles) in sizes.items():
        tenant = "big" if name == "large" else "little"
        history, kb = make_records(n_tickets, n_articles)
        blob = json.dumps([[asdict(t) for t in history], [asdict(a) for a in kb]])
        wall, cpu = time.perf_counter(), time.process_time()
        tickets_json, articles_json = json.loads(blob)
        decoded = ([IndexedTicket(**f) for f in tickets_json], [Article(**f) for f in articles_json])
        decode = (time.perf_counter() - wall, time.process_time() - cpu)
        del blob, decoded, tickets_json, articles_json
        wall, cpu = time.perf_counter(), time.process_time()
        index = build_index(tenant, history, kb)
        build = (time.perf_counter() - wall, time.process_time() - cpu)
        pointer = IndexStore(dynamodb, TABLE, s3, BUCKET).publish(index)  # type: ignore[arg-type]
        if name == "large":
            result["build_s"], result["decode_s"] = round(build[0], 3), round(decode[0], 3)
            result["build_vs_decode"] = round(build[0] / decode[0], 2)
            result["build_vs_decode_cpu"] = round(build[1] / decode[1], 2)
            result["index_object_mb"] = round(pointer.size / 1e6, 1)
            with tempfile.NamedTemporaryFile(suffix=".teix", delete=False) as handle:
                handle.write(encode_index(index))
                object_path = handle.name
        del history, index
        _seed_processed(context, tenant, 500, rng)  # today's index: >= 500 processed tickets
        for article in kb[:500]:  # today's knowledge: CLI-loaded articles
            context.put_article(tenant, article.title, article.body, article.url)
        del kb
        # The worker's store: the pointer is not cached (every job pays its GetItem).
        worker = IndexStore(dynamodb, TABLE, s3, BUCKET, pointer_seconds=0)  # type: ignore[arg-type]
        workers[name] = (tenant, worker)
    workers["context"] = ("", context)
    return workers, object_path


def run(small: bool = False) -> dict[str, object]:
    from ticket_enhancer.enhance.bm25 import rank
    from ticket_enhancer.enhance.index import build_index
    from ticket_enhancer.enhance.retrieval import find_articles, find_similar

    large = (5_000, 250) if small else (100_000, 5_000)
    sizes = {"small": (1_000, 50), "large": large}
    rng = random.Random(11)  # noqa: S311 # nosec B311 # synthetic data
    vocab = _vocabulary(random.Random(7))  # noqa: S311 # nosec B311 # the tenants' own vocabulary
    asks = [(_text(rng, vocab, 30), f"P{rng.randrange(SCOPES)}") for _ in range(30 if small else 150)]
    result: dict[str, Any] = {"tenants": {k: {"tickets": v[0], "articles": v[1]} for k, v in sizes.items()}}
    started = time.perf_counter()
    build_index("warm", make_records(5, 1)[0], [])  # numpy and bm25s imported: once per container
    result["first_use_import_s"] = round(time.perf_counter() - started, 3)
    dynamodb, s3 = Counting(FakeDynamoDB()), Counting(FakeS3())
    workers, object_path = _tenants(sizes, dynamodb, s3, rng, result)
    context = workers["context"][1]

    def lookup(name: str, query: str, scope: str) -> None:
        tenant, worker = workers[name]
        loaded = worker.load(tenant)
        recent = context.recent_tickets(tenant, 100)
        find_similar(query, ticket_id="1", scope=scope, index=loaded, recent=recent, k=3)
        find_articles(query, index=loaded, loaded=[], k=3)

    def today(query: str, scope: str) -> None:  # main's steps before the index: 500 by id, cached kb
        indexed = [t for t in context.list_indexed_tickets("big", 500) if t.ticket_id != "1"]
        rank(query, [f"{t.subject}\n{t.text}" for t in indexed], 3)
        articles = context.list_articles("big", 500)  # cached 60 s, as in the worker
        rank(query, [f"{a.title}\n{a.title}\n{a.body}" for a in articles], 3)

    calls: dict[str, Any] = {
        "small": lambda q, s: lookup("small", q, s),
        "large": lambda q, s: lookup("large", q, s),
        "today": today,
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    reads: dict[str, Counter[str]] = {name: Counter() for name in calls}
    for call in calls.values():
        call(*asks[0])  # the index loaded, the article cache warm: a running worker
    for query, scope in asks:  # interleaved, so machine noise hits every variant alike
        for name, call in calls.items():
            before = dynamodb.calls + s3.calls
            started = time.perf_counter()
            call(query, scope)
            samples[name].append(time.perf_counter() - started)
            reads[name] += (dynamodb.calls + s3.calls) - before
    p50 = {name: _p50(values) for name, values in samples.items()}
    result["p50_ms"] = p50
    result["size_ratio"] = round(p50["large"] / p50["small"], 2)
    result["vs_today_ratio"] = round(p50["large"] / p50["today"], 2)
    result["reads_per_job"] = {
        name: {k: round(v / len(asks), 2) for k, v in c.items()} for name, c in reads.items()
    }
    rss, peak = _rss(object_path)
    Path(object_path).unlink()
    result["rss_mb"], result["peak_rss_mb"] = rss, peak
    result["budgets"] = BUDGETS
    return result


def _rss(path: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "shared"), str(ROOT)]))
    out = subprocess.run(  # nosec B603 # our interpreter, fixed arguments
        [sys.executable, "-c", RSS_CODE, path], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return float(out[0]), float(out[1])


def report(result: dict[str, Any]) -> str:
    tenants, p50 = result["tenants"], result["p50_ms"]
    big, little = tenants["large"], tenants["small"]
    return (
        f"context lookup ({big['tickets']:,} tickets/{big['articles']:,} articles vs "
        f"{little['tickets']:,}/{little['articles']:,}): p50 {p50['large']} ms vs {p50['small']} ms, ratio "
        f"{result['size_ratio']}x (budget {BUDGETS['size_ratio']}x); vs today's 500-item read "
        f"{p50['today']} ms: {result['vs_today_ratio']}x (budget {BUDGETS['vs_today_ratio']}x); "
        f"reads per job {result['reads_per_job']['large']} (today {result['reads_per_job']['today']}); "
        f"index build {result['build_s']} s vs JSON decode {result['decode_s']} s: "
        f"{result['build_vs_decode']}x (CPU time {result['build_vs_decode_cpu']}x; budget "
        f"{BUDGETS['build_vs_decode']}x); object {result['index_object_mb']} MB; worker RSS with the index "
        f"loaded {result['rss_mb']:.1f} MB, peak {result['peak_rss_mb']:.1f} MB "
        f"(budget {BUDGETS['rss_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "shared"))
    sys.path.insert(0, str(ROOT))
    print(report(run(small="--small" in sys.argv)), flush=True)
