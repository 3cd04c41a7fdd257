"""Indexing a large knowledge base: cold (nothing cached) and warm (restart, everything cached).

    python -m bench.kb_scale --articles 5000 --json

Writes a synthetic store of N markdown articles (varied products and topics, 3 questions each)
to a scratch folder, then times KnowledgeService.start() twice with the real model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.service import KnowledgeService, SearchOptions

PRODUCTS = [
    "linen shirt",
    "oak desk",
    "ceramic vase",
    "wool scarf",
    "travel mug",
    "desk lamp",
    "yoga mat",
    "leather wallet",
    "phone case",
    "garden hose",
    "cast iron pan",
    "kids raincoat",
    "bike light",
    "tea kettle",
    "dog leash",
    "scented candle",
    "bath towel",
    "notebook",
    "backpack",
    "sun hat",
]
TOPICS = [
    (
        "care",
        "How do I care for the {p}?",
        ["how to clean the {p}", "washing instructions {p} {n}", "can the {p} go in the machine"],
        "Clean the {p} gently with {w}.",
    ),
    (
        "size",
        "What size is the {p}?",
        ["dimensions of the {p}", "how big is model {n} of the {p}", "{p} measurements"],
        "The {p} measures {n} cm and weighs {w} grams.",
    ),
    (
        "stock",
        "When is the {p} back in stock?",
        ["{p} sold out", "restock date {p} {n}", "notify me about the {p}"],
        "The {p} returns in {n} weeks.",
    ),
    (
        "warranty",
        "Is there a warranty on the {p}?",
        ["{p} guarantee", "my {p} broke after {n} months", "repair the {p}"],
        "The {p} has a {n}-year warranty.",
    ),
    (
        "material",
        "What is the {p} made of?",
        ["{p} materials", "is the {p} {w}", "what fabric or wood is the {p} number {n}"],
        "The {p} is {w}.",
    ),
]
WORDS = [
    "recycled cotton",
    "organic linen",
    "FSC oak",
    "stoneware",
    "merino wool",
    "steel",
    "cork",
    "vegetable-tanned leather",
    "bamboo",
    "glass",
]


def write_store(folder: Path, count: int) -> None:
    rng = random.Random(0)
    for i in range(count):
        product = f"{rng.choice(PRODUCTS)} {i}"
        kind, title, questions, answer = TOPICS[i % len(TOPICS)]
        fill = {"p": product, "n": rng.randint(2, 90), "w": rng.choice(WORDS)}
        lines = ["---", f"id: article-{i}-{kind}", f"title: {title.format(**fill)}", "questions:"]
        lines += [f"  - {q.format(**fill)}" for q in questions]
        lines += [f"tags: [{kind}]", "---", answer.format(**fill), ""]
        (folder / f"article-{i}.md").write_text("\n".join(lines), encoding="utf-8")


async def timed_start(folder: Path, data: Path, embedder: SentenceTransformerEmbedder) -> tuple[float, int]:
    service = KnowledgeService(folder, embedder, data, SearchOptions(reload=False, learn=False))
    started = time.perf_counter()
    await service.start()
    elapsed = time.perf_counter() - started
    embedded = service.index.embedded_now
    await service.stop()
    return elapsed, embedded


async def run(count: int) -> dict[str, float | int]:
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["load the model before the clock starts"])
    with tempfile.TemporaryDirectory() as scratch:
        folder, data = Path(scratch) / "kb", Path(scratch) / "data"
        folder.mkdir()
        write_store(folder, count)
        cold, cold_embedded = await timed_start(folder, data, embedder)
        warm, warm_embedded = await timed_start(folder, data, embedder)
    return {
        "articles": count,
        "cold_s": round(cold, 2),
        "cold_texts_embedded": cold_embedded,
        "warm_s": round(warm, 2),
        "warm_texts_embedded": warm_embedded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.articles))
    print(json.dumps(result) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
