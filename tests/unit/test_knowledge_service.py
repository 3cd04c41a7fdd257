"""Indexing, the vector cache, live reload and the learned ranking, as an editor experiences them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from knowledge_base.embedder import HashingEmbedder, Vectors
from knowledge_base.search import Outcome
from tests.helpers import started_service


class CountingEmbedder(HashingEmbedder):
    """Counts what actually reaches the model."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        self.encoded.extend(texts)
        return super().encode(texts)


async def test_unchanged_articles_are_never_embedded_again_across_restarts(
    kb_folder: Path, tmp_path: Path
) -> None:
    embedder = CountingEmbedder()
    service = await started_service(kb_folder, tmp_path / "data", embedder)
    first = len(embedder.encoded)
    await service.stop()
    assert first > 20
    embedder.encoded.clear()
    service = await started_service(kb_folder, tmp_path / "data", embedder)
    await service.stop()
    assert [t for t in embedder.encoded if t != "warm-up"] == []

    text = (kb_folder / "gift-cards.md").read_text().replace("never expire", "expire after 5 years")
    (kb_folder / "gift-cards.md").write_text(text)
    service = await started_service(kb_folder, tmp_path / "data", embedder)
    await service.stop()
    assert embedder.encoded == [
        "Digital gift cards from $10 to $200 are sold on our site and expire after 5 years."
    ]


async def test_learned_head_is_cached_per_version(kb_folder: Path, tmp_path: Path) -> None:
    service = await started_service(kb_folder, tmp_path / "data")
    assert service.head is not None
    await service.stop()
    heads = list((tmp_path / "data" / "learned").glob("*.npz"))
    assert len(heads) == 1
    service = await started_service(kb_folder, tmp_path / "data")
    assert service.learning is None  # loaded from the cache, nothing retrained
    assert service.head is not None
    await service.stop()


async def test_search_ranks_by_meaning_and_spelling(kb_folder: Path) -> None:
    service = await started_service(kb_folder, abstain_threshold=0.3)
    try:
        verdict = await service.search("how long does shiping take to canda")
        assert verdict.outcome is Outcome.ANSWER
        assert verdict.top is not None and verdict.top.article_id == "shipping-times"
        assert verdict.top.lexical > 0.5
        verdict = await service.search("zebra xylophone quartz")
        assert verdict.outcome is Outcome.ABSTAIN
    finally:
        await service.stop()


async def test_calibrated_threshold_sits_between_answerable_and_unanswerable(kb_folder: Path) -> None:
    service = await started_service(kb_folder)
    try:
        threshold = service.rule.abstain_below
        assert 0.0 < threshold < 1.0
        good = await service.search("How many days do I have to return something?")
        assert good.confidence > threshold and good.outcome is Outcome.ANSWER
    finally:
        await service.stop()


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_saved_edit_is_served_without_restart(kb_folder: Path) -> None:
    service = await started_service(kb_folder, reload=True, abstain_threshold=0.2)
    try:
        (kb_folder / "loyalty.md").write_text(
            "---\nid: loyalty\ntitle: Do you have a loyalty programme?\nquestions:\n"
            "  - how do reward points work\n---\nEvery dollar earns one point.\n"
        )
        assert await wait_for(lambda: service.article("loyalty") is not None)
        verdict = await service.search("how do reward points work")
        assert verdict.top is not None and verdict.top.article_id == "loyalty"
    finally:
        await service.stop()


async def test_a_broken_edit_keeps_the_last_good_version(kb_folder: Path) -> None:
    service = await started_service(kb_folder, reload=True, abstain_threshold=0.2)
    try:
        version = service.index.version
        (kb_folder / "gift-cards.md").write_text("---\nid: gift-cards\ntitle: [broken\n---\nGift cards.\n")
        assert await wait_for(lambda: bool(service.last_problems))
        assert service.index.version == version
        assert "gift-cards.md:3: front matter is not valid YAML" in str(service.last_problems[0])
        verdict = await service.search("Can I buy a gift voucher?")
        assert verdict.top is not None and verdict.top.article_id == "gift-cards"
        article = service.article("gift-cards")
        assert article is not None and "never expire" in article.answer
    finally:
        await service.stop()


async def test_batching_encoder_serves_concurrent_queries(kb_folder: Path) -> None:
    embedder = CountingEmbedder()
    service = await started_service(kb_folder, embedder=embedder, abstain_threshold=0.2)
    try:
        embedder.encoded.clear()
        questions = ["When will my parcel arrive?", "Can I buy a gift voucher?"] * 10
        verdicts = await asyncio.gather(*(service.search(q) for q in questions))
        tops = [v.top.article_id for v in verdicts if v.top]
        assert tops == ["shipping-times", "gift-cards"] * 10
        assert len(embedder.encoded) == 20
    finally:
        await service.stop()


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    a = HashingEmbedder().encode(["Where is my order?", "where is my order"])
    b = HashingEmbedder().encode(["Where is my order?"])
    assert np.allclose(a[0], b[0])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
