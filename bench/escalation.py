"""Escalation quality and cost.

    python -m bench.escalation --json

- the store's labelled messages (../shared/eval/store/escalation_dev.jsonl) and this project's own cases;
- Bitext customer-support data: share of `contact_human_agent` and `complaint` caught, and how well
  `get_refund` (escalate) is separated from `check_refund_policy` and `track_refund` (answered by the bot);
- cost: the check's time per message (p50, p99), given the embedding the search already computed.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bot.escalation.detector import EscalationDetector
from bot.escalation.evaluation import evaluate, load_cases
from bot.escalation.rules import load_rules
from knowledge_base.embedder import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "eval"
ESCALATE = {"contact_human_agent", "complaint", "get_refund"}
REFUND_KEEP = {"check_refund_policy", "track_refund"}


def bitext(detector: EscalationDetector, embedder: SentenceTransformerEmbedder, data: Path) -> dict[str, Any]:
    path = data / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["intent"] in ESCALATE | REFUND_KEEP]
    vectors = embedder.encode([r["instruction"] for r in rows])
    flagged: dict[str, list[bool]] = {}
    for row, vector in zip(rows, vectors, strict=True):
        flagged.setdefault(row["intent"], []).append(detector.assess(row["instruction"], vector).escalate)
    rate = {intent: round(sum(v) / len(v), 4) for intent, v in sorted(flagged.items())}
    separated = flagged["get_refund"] + [not x for i in REFUND_KEEP for x in flagged[i]]
    return {
        "escalated_share_by_intent": rate,
        "contact_human_agent_caught": rate["contact_human_agent"],
        "complaint_caught": rate["complaint"],
        "get_refund_separation": round(sum(separated) / len(separated), 4),
    }


def cost(
    detector: EscalationDetector, embedder: SentenceTransformerEmbedder, texts: list[str]
) -> dict[str, float]:
    vectors = embedder.encode(texts)
    timings = []
    for _ in range(5):
        for text, vector in zip(texts, vectors, strict=True):
            started = time.perf_counter()
            detector.assess(text, vector)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "check_p50_ms": round(statistics.median(timings), 3),
        "check_p99_ms": round(timings[int(0.99 * len(timings))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    detector = EscalationDetector(load_rules(), embedder.encode)
    result: dict[str, Any] = {}
    store = load_cases(args.data / "store" / "escalation_dev.jsonl")
    own = load_cases(ROOT / "tests" / "fixtures" / "escalation_cases.jsonl")
    for name, cases in (("store_dev", store), ("project_cases", own)):
        scored = evaluate(detector, cases, embedder.encode([c.text for c in cases]))
        scored.pop("mistakes")
        result[name] = scored
    result["bitext"] = bitext(detector, embedder, args.data)
    result["cost"] = cost(detector, embedder, [c.text for c in store])
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
