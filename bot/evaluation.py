"""Measuring the bot's decisions on labelled queries: `supportbot eval retrieval`."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.engine import understand
from bot.errors import SupportBotError
from bot.small_talk import SmallTalk
from knowledge_base.article import ID_PATTERN, Article, slugify
from knowledge_base.search import Outcome, Verdict
from knowledge_base.service import KnowledgeService

LATENCY_SAMPLE = 200


class EvaluationDataError(SupportBotError):
    """An evaluation file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    text: str
    expected: str | None


def read_json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-empty line; a clear error naming the line otherwise."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationDataError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationDataError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise EvaluationDataError(f"{path}:{number}: each line must be a JSON object")
        rows.append((number, row))
    return rows


def articles_from_rows(rows: list[dict[str, Any]]) -> list[Article]:
    articles = []
    for row in rows:
        article_id = str(row["id"])
        if not ID_PATTERN.match(article_id):
            article_id = slugify(article_id)
        articles.append(
            Article(
                id=article_id,
                title=str(row.get("title") or row["id"]),
                answer=str(row.get("answer") or row.get("title") or row["id"]),
                questions=tuple(str(q) for q in row.get("questions", [])),
                tags=tuple(str(t) for t in row.get("tags", [])),
            )
        )
    return articles


def load_faq(path: Path) -> list[Article]:
    rows = []
    for number, row in read_json_lines(path):
        if "id" not in row or not isinstance(row.get("questions", []), list):
            raise EvaluationDataError(f"{path}:{number}: needs an id and a list of questions")
        rows.append(row)
    if not rows:
        raise EvaluationDataError(f"{path}: no articles")
    return articles_from_rows(rows)


def load_queries(path: Path) -> list[LabelledQuery]:
    queries = []
    for number, row in read_json_lines(path):
        if not isinstance(row.get("text"), str) or "expected" not in row:
            raise EvaluationDataError(f"{path}:{number}: needs text and expected (an id or null)")
        expected = row["expected"]
        queries.append(LabelledQuery(row["text"], None if expected is None else str(expected)))
    if not queries:
        raise EvaluationDataError(f"{path}: no queries")
    return queries


def score(queries: list[LabelledQuery], verdicts: list[Verdict | None]) -> dict[str, float | int]:
    """The figures. A verdict of None means small talk: no article was offered (counts as abstain)."""
    in_scope = [(q, v) for q, v in zip(queries, verdicts, strict=True) if q.expected is not None]
    out_scope = [(q, v) for q, v in zip(queries, verdicts, strict=True) if q.expected is None]

    def ids(v: Verdict | None, k: int) -> list[str]:
        return [] if v is None else [h.article_id for h in v.hits[:k]]

    def outcome(v: Verdict | None) -> Outcome:
        return Outcome.ABSTAIN if v is None else v.outcome

    top1 = sum(q.expected in ids(v, 1) for q, v in in_scope)
    top3 = sum(q.expected in ids(v, 3) for q, v in in_scope)
    accurate = sum(outcome(v) is not Outcome.ABSTAIN and q.expected in ids(v, 1) for q, v in in_scope)
    resolved = sum(
        (outcome(v) is Outcome.ANSWER and q.expected in ids(v, 1))
        or (outcome(v) is Outcome.CLARIFY and q.expected in ids(v, 3))
        for q, v in in_scope
    )
    abstained = [(q, v) for q, v in zip(queries, verdicts, strict=True) if outcome(v) is Outcome.ABSTAIN]
    clarified = sum(outcome(v) is Outcome.CLARIFY for v in verdicts)
    n_in, n_out = len(in_scope), len(out_scope)
    return {
        "queries": len(queries),
        "in_scope": n_in,
        "out_of_scope": n_out,
        "top1": _ratio(top1, n_in),
        "top3": _ratio(top3, n_in),
        "in_scope_accuracy": _ratio(accurate, n_in),
        "resolved_rate": _ratio(resolved, n_in),
        "clarify_rate": _ratio(clarified, len(queries)),
        "abstain_recall": _ratio(sum(outcome(v) is Outcome.ABSTAIN for _, v in out_scope), n_out),
        "abstain_precision": _ratio(sum(q.expected is None for q, _ in abstained), len(abstained)),
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def evaluate(service: KnowledgeService, queries: list[LabelledQuery]) -> dict[str, float | int]:
    """Every query through the bot's own decision; latency from single searches as the bot runs them."""
    prepared = [understand(q.text) for q in queries]
    searchable = [(i, p) for i, p in enumerate(prepared) if not isinstance(p, SmallTalk)]
    vectors = service.encode_many([p for _, p in searchable])
    verdicts: list[Verdict | None] = [None] * len(queries)
    for (i, text), vector in zip(searchable, vectors, strict=True):
        verdicts[i] = service.decide_encoded(text, vector)
    timings = []
    for _, text in searchable[:LATENCY_SAMPLE]:
        started = time.perf_counter()
        await service.search(text)
        timings.append((time.perf_counter() - started) * 1000)
    result = score(queries, verdicts)
    result["p50_ms"] = round(statistics.median(timings), 2) if timings else 0.0
    return result
