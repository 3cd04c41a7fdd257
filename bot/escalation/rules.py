"""Reading the store's escalation rules (YAML) and reporting every mistake as file:line: what."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.errors import SupportBotError
from bot.escalation.model import ClusterRules, ContextRules, EscalationRules, TextTrigger

# The same file:line: message shape the knowledge base reports in.
from knowledge_base.errors import Problem as RuleProblem

DEFAULT_RULES = Path(__file__).resolve().parent / "rules.yaml"
TOP_LEVEL = {"precedence", "triggers", "benign", "benign_margin", "negations", "context", "quality_cluster"}
TRIGGER_FIELDS = {"description", "phrases", "patterns", "unless", "exemplars", "semantic_threshold"}
CONTEXT_FIELDS = {
    "high_value_total",
    "vip_tags",
    "vip_min_orders",
    "bulk_min_quantity",
    "repeat_within_days",
    "repeat_topic_tags",
    "loop_failures_in_a_row",
    "low_csat_at_most",
}
CLUSTER_FIELDS = {"customers", "within_hours", "products"}


class InvalidRules(SupportBotError):
    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("invalid escalation rules:\n" + "\n".join(str(p) for p in problems))


class _Lines:
    """Line numbers of every node, so a problem can point at the exact line."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.by_path: dict[tuple[object, ...], int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[object, ...]) -> None:
        self.by_path[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.by_path[(*path, str(key.value))] = key.start_mark.line + 1
                self._walk(value, (*path, str(key.value)))
                self.by_path[(*path, str(key.value))] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def at(self, *path: object) -> int:
        while path and path not in self.by_path:
            path = path[:-1]
        return self.by_path.get(path, 1)


def load_rules(path: Path = DEFAULT_RULES) -> EscalationRules:
    rules, problems = check_rules(path)
    if problems or rules is None:
        raise InvalidRules(problems)
    return rules


def check_rules(path: Path) -> tuple[EscalationRules | None, list[RuleProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleProblem(path, 1, f"cannot read the rules: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, [RuleProblem(path, line, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]
    lines = _Lines(node)
    problems: list[RuleProblem] = []

    def problem(message: str, *where: object) -> None:
        problems.append(RuleProblem(path, lines.at(*where), message))

    if not isinstance(data, dict):
        return None, [RuleProblem(path, 1, "the rules must be a mapping with 'triggers' and 'precedence'")]
    for key in data:
        if key not in TOP_LEVEL:
            problem(f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_LEVEL))})", key)
    triggers = _triggers(data.get("triggers"), problem)
    names = [t.name for t in triggers]
    precedence = _strings(data.get("precedence"), "precedence", problem)
    for i, name in enumerate(precedence):
        if name not in names:
            problem(f"precedence names '{name}', which is not a trigger", "precedence", i)
    for name in names:
        if name not in precedence:
            problem(f"trigger '{name}' is missing from precedence", "triggers", name)
    benign = _strings(data.get("benign", []), "benign", problem)
    margin = _number(data.get("benign_margin", 0.03), "benign_margin", problem, 0.0, 1.0)
    negations = _strings(data.get("negations", []), "negations", problem)
    context = _context(data.get("context", {}), problem)
    cluster = _cluster(data.get("quality_cluster", {}), problem)
    if problems:
        return None, problems
    rules = EscalationRules(
        triggers=tuple(triggers),
        precedence=tuple(precedence),
        benign=tuple(benign),
        benign_margin=margin,
        negations=tuple(n.lower() for n in negations),
        context=context,
        cluster=cluster,
        source=str(path),
    )
    return rules, []


Report = Any  # the `problem(message, *path)` callback


def _strings(value: object, where: str, problem: Report, *path: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        problem(f"{where} must be a list", *path or (where,))
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problem(f"{where} item {i + 1} must be non-empty text", *(path or (where,)), i)
            continue
        out.append(item.strip())
    return out


def _number(value: object, where: str, problem: Report, low: float, high: float, *path: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        problem(f"{where} must be a number from {low:g} to {high:g} (got {value!r})", *path or (where,))
        return low
    return float(value)


def _triggers(value: object, problem: Report) -> list[TextTrigger]:
    if not isinstance(value, dict) or not value:
        problem("triggers must map each reason code to its rules", "triggers")
        return []
    triggers = []
    for name, spec in value.items():
        where = ("triggers", name)
        if not re.fullmatch(r"[a-z][a-z_]*", str(name)):
            problem(f"trigger name '{name}' must be lowercase words joined by '_'", *where)
        if not isinstance(spec, dict):
            problem(f"trigger '{name}' must be a mapping", *where)
            continue
        for key in spec:
            if key not in TRIGGER_FIELDS:
                problem(
                    f"unknown field '{key}' in trigger '{name}' (allowed: {', '.join(sorted(TRIGGER_FIELDS))})",
                    *where,
                    key,
                )
        phrases = _strings(spec.get("phrases"), f"{name}.phrases", problem, *where, "phrases")
        patterns = _patterns(spec.get("patterns"), f"{name}.patterns", problem, *where, "patterns")
        unless = _patterns(spec.get("unless"), f"{name}.unless", problem, *where, "unless")
        exemplars = _strings(spec.get("exemplars"), f"{name}.exemplars", problem, *where, "exemplars")
        threshold = _number(
            spec.get("semantic_threshold", 0.6),
            f"{name}.semantic_threshold",
            problem,
            0.0,
            1.0,
            *where,
            "semantic_threshold",
        )
        if not phrases and not patterns and not exemplars:
            problem(f"trigger '{name}' has no phrases, patterns or exemplars: it can never fire", *where)
        triggers.append(
            TextTrigger(
                str(name), tuple(p.lower() for p in phrases), patterns, unless, tuple(exemplars), threshold
            )
        )
    return triggers


def _patterns(value: object, where: str, problem: Report, *path: object) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for i, text in enumerate(_strings(value, where, problem, *path)):
        try:
            compiled.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            problem(f"{where} item {i + 1} is not a valid regular expression: {exc.msg}", *path, i)
    return tuple(compiled)


def _context(value: object, problem: Report) -> ContextRules:
    if not isinstance(value, dict):
        problem("context must be a mapping", "context")
        return ContextRules()
    for key in value:
        if key not in CONTEXT_FIELDS:
            problem(
                f"unknown field '{key}' in context (allowed: {', '.join(sorted(CONTEXT_FIELDS))})",
                "context",
                key,
            )
    default = ContextRules()

    def num(key: str, high: float = 1e9) -> float:
        return _number(
            value.get(key, getattr(default, key)), f"context.{key}", problem, 0, high, "context", key
        )

    return ContextRules(
        high_value_total=num("high_value_total"),
        vip_tags=tuple(
            t.lower()
            for t in _strings(
                value.get("vip_tags", list(default.vip_tags)),
                "context.vip_tags",
                problem,
                "context",
                "vip_tags",
            )
        ),
        vip_min_orders=int(num("vip_min_orders")),
        bulk_min_quantity=int(num("bulk_min_quantity")),
        repeat_within_days=int(num("repeat_within_days", 365)),
        repeat_topic_tags=tuple(
            _strings(
                value.get("repeat_topic_tags", []),
                "context.repeat_topic_tags",
                problem,
                "context",
                "repeat_topic_tags",
            )
        ),
        loop_failures_in_a_row=int(num("loop_failures_in_a_row", 20)),
        low_csat_at_most=int(num("low_csat_at_most", 5)),
    )


def _cluster(value: object, problem: Report) -> ClusterRules:
    if not isinstance(value, dict):
        problem("quality_cluster must be a mapping", "quality_cluster")
        return ClusterRules()
    for key in value:
        if key not in CLUSTER_FIELDS:
            problem(
                f"unknown field '{key}' in quality_cluster (allowed: {', '.join(sorted(CLUSTER_FIELDS))})",
                "quality_cluster",
                key,
            )
    customers = _number(
        value.get("customers", 3),
        "quality_cluster.customers",
        problem,
        2,
        1000,
        "quality_cluster",
        "customers",
    )
    hours = _number(
        value.get("within_hours", 72),
        "quality_cluster.within_hours",
        problem,
        1,
        24 * 90,
        "quality_cluster",
        "within_hours",
    )
    products: dict[str, tuple[str, ...]] = {}
    raw = value.get("products", {})
    if not isinstance(raw, dict):
        problem("quality_cluster.products must map a product to its names", "quality_cluster", "products")
    else:
        for product, aliases in raw.items():
            names = _strings(
                aliases,
                f"quality_cluster.products.{product}",
                problem,
                "quality_cluster",
                "products",
                product,
            )
            products[str(product)] = tuple(n.lower() for n in names) or (str(product).lower(),)
    return ClusterRules(int(customers), hours, products)
