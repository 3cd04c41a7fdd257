"""`supportbot eval escalation`: recall, precision, false escalations and reason accuracy on labelled cases."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.escalation.detector import EscalationDetector
from bot.escalation.model import Assessment
from bot.evaluation import EvaluationDataError, read_json_lines

NO_REASON = "none"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    escalate: bool
    reason: str


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, row in read_json_lines(path):
        if not isinstance(row.get("text"), str) or not isinstance(row.get("escalate"), bool):
            raise EvaluationDataError(f"{path}:{number}: needs text and escalate (true or false)")
        cases.append(Case(row["text"], row["escalate"], str(row.get("reason") or NO_REASON)))
    if not cases:
        raise EvaluationDataError(f"{path}: no cases")
    return cases


def score(cases: list[Case], assessments: list[Assessment]) -> dict[str, Any]:
    positives = [(c, a) for c, a in zip(cases, assessments, strict=True) if c.escalate]
    negatives = [(c, a) for c, a in zip(cases, assessments, strict=True) if not c.escalate]
    caught = sum(a.escalate for _, a in positives)
    false = sum(a.escalate for _, a in negatives)
    flagged = caught + false
    right_reason = sum(a.reason == c.reason for c, a in positives)
    return {
        "cases": len(cases),
        "positives": len(positives),
        "negatives": len(negatives),
        "recall": round(caught / len(positives), 4) if positives else 0.0,
        "precision": round(caught / flagged, 4) if flagged else 0.0,
        "false_escalation_rate": round(false / len(negatives), 4) if negatives else 0.0,
        "reason_accuracy": round(right_reason / len(positives), 4) if positives else 0.0,
    }


def evaluate(
    detector: EscalationDetector, cases: list[Case], vectors: np.ndarray[Any, Any] | None
) -> dict[str, Any]:
    assessments = []
    timings = []
    for i, case in enumerate(cases):
        vector = None if vectors is None else vectors[i]
        started = time.perf_counter()
        assessments.append(detector.assess(case.text, vector))
        timings.append((time.perf_counter() - started) * 1000)
    result = score(cases, assessments)
    result["p50_ms"] = round(statistics.median(timings), 3)
    result["mistakes"] = [
        {
            "text": c.text,
            "expected": c.reason,
            "got": a.reason,
            "evidence": a.hits[0].evidence if a.hits else None,
        }
        for c, a in zip(cases, assessments, strict=True)
        if c.escalate != a.escalate or (c.escalate and c.reason != a.reason)
    ]
    return result
