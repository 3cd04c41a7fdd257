"""The `supportbot` command: run, migrate, kb check/search, chat, orders, escalation, eval."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import SupportBotError
from bot.settings import Settings, load_settings
from knowledge_base.errors import KnowledgeBaseError

EXIT_PROBLEMS = 1
EXIT_CONFIG = 2
T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_CONFIG
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "host", None):
            overrides["host"] = args.host
        if getattr(args, "port", None):
            overrides["port"] = args.port
        settings = load_settings(**overrides)
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        # Drivers log query parameters and URLs (customers' emails) at DEBUG: never let them.
        for noisy in ("aiosqlite", "asyncpg", "httpcore", "sqlalchemy.engine"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        return int(args.handler(args, settings))
    except SupportBotError as exc:
        print(f"supportbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KnowledgeBaseError as exc:
        print(f"supportbot: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot", description="Customer-support bot with human handoff."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="start the server (web chat, health endpoint)")
    run.add_argument("--host", help="bind address (default: SUPPORTBOT_HOST)")
    run.add_argument("--port", type=int, help="port (default: SUPPORTBOT_PORT)")
    run.set_defaults(handler=cmd_run)

    mig = sub.add_parser("migrate", help="create or upgrade the database schema")
    mig.set_defaults(handler=cmd_migrate)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(metavar="KB_COMMAND")
    check = kb.add_parser("check", help="validate every article; file:line: problem; exit 1 on any")
    check.add_argument("path", nargs="?", type=Path, help="folder (default: SUPPORTBOT_KB_PATH)")
    check.set_defaults(handler=cmd_kb_check)
    search = kb.add_parser("search", help="ranked articles for a message and the bot's decision")
    search.add_argument("text")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_kb_search)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--debug", action="store_true", help="show candidates and scores")
    chat.set_defaults(handler=cmd_chat)

    esc = sub.add_parser("escalation", help="escalation rules").add_subparsers(metavar="ESCALATION_COMMAND")
    esc_check = esc.add_parser("check", help="validate the rules file: file:line: problem; exit 1 on any")
    esc_check.add_argument(
        "path", nargs="?", type=Path, help="rules file (default: SUPPORTBOT_ESCALATION_RULES)"
    )
    esc_check.set_defaults(handler=cmd_escalation_check)
    explain = esc.add_parser("explain", help="which triggers fire for a message, with scores and evidence")
    explain.add_argument("text")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(handler=cmd_escalation_explain)

    orders = sub.add_parser("orders", help="the embedded order store").add_subparsers(
        metavar="ORDERS_COMMAND"
    )
    orders_import = orders.add_parser(
        "import", help="import a CSV, JSON or JSON-lines export: file: row N: problem; exit 1 on any"
    )
    orders_import.add_argument("file", type=Path, help=".csv, .json or .jsonl (see bot/orders/importer.py)")
    orders_import.add_argument(
        "--skip-bad-rows", action="store_true", help="import the good rows and report the bad ones"
    )
    orders_import.set_defaults(handler=cmd_orders_import)
    orders_sample = orders.add_parser("sample", help="load the demo store's orders (dated from today)")
    orders_sample.add_argument(
        "--if-empty", action="store_true", help="do nothing when the store already has orders"
    )
    orders_sample.add_argument("--count", type=_positive, default=240, help="how many orders (default 240)")
    orders_sample.set_defaults(handler=cmd_orders_sample)
    orders_export = orders.add_parser("export-sample", help="write the demo orders as an example CSV")
    orders_export.add_argument("file", type=Path)
    orders_export.set_defaults(handler=cmd_orders_export_sample)

    ev = sub.add_parser("eval", help="evaluations").add_subparsers(metavar="EVAL")
    esc_eval = ev.add_parser("escalation", help="recall, precision and reasons on labelled messages")
    esc_eval.add_argument("--cases", type=Path, required=True, help="JSON lines: text, escalate, reason")
    esc_eval.add_argument("--json", action="store_true")
    esc_eval.add_argument("--mistakes", action="store_true", help="list the cases it got wrong")
    esc_eval.set_defaults(handler=cmd_eval_escalation)
    retrieval = ev.add_parser("retrieval", help="retrieval and decision quality on labelled queries")
    retrieval.add_argument(
        "--faq", type=Path, required=True, help="JSON lines: id, title, answer, questions, tags"
    )
    retrieval.add_argument(
        "--queries", type=Path, required=True, help="JSON lines: text, expected (id or null)"
    )
    retrieval.add_argument("--json", action="store_true", help="print one JSON object")
    retrieval.set_defaults(handler=cmd_eval_retrieval)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.app import create_app

    print(f"supportbot: chat with the bot at http://{settings.host}:{settings.port}/", flush=True)
    print(f"supportbot: health at http://{settings.host}:{settings.port}/health", flush=True)
    app = create_app(settings, show_progress=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.persistence.database import migrate

    asyncio.run(migrate(settings.effective_database_url))
    print("supportbot: database is up to date")
    return 0


def cmd_kb_check(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge_base.loader import check_folder

    folder = args.path or settings.kb_path
    result = check_folder(folder)
    for problem in result.problems:
        print(problem)
    if result.problems:
        print(f"{len(result.problems)} problem(s) in {result.files} file(s)", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"ok: {len(result.articles)} articles in {result.files} file(s)")
    return 0


async def _with_order_store(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` on the embedded order store, with the schema brought up to date first."""
    from bot.persistence.database import create_engine, migrate
    from bot.persistence.orders import EmbeddedOrders
    from bot.persistence.repository import Repository

    url = settings.effective_database_url
    await migrate(url)
    engine = create_engine(url)
    try:
        return await work(EmbeddedOrders(Repository(engine)))
    finally:
        await engine.dispose()


def cmd_orders_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.orders.importer import OrderImportError, import_orders

    path: Path = args.file
    try:
        result = asyncio.run(
            _with_order_store(
                settings, lambda store: import_orders(path, store, skip_bad_rows=args.skip_bad_rows)
            )
        )
    except OrderImportError as exc:
        # Like `kb check`: every problem on stdout as file: row N: problem, the verdict on stderr.
        for problem in exc.problems:
            print(f"{path}: {problem}")
        if not exc.problems:
            print(exc)
        if exc.problems:
            print(f"{len(exc.problems)} problem(s) in {path}; nothing imported", file=sys.stderr)
        else:
            print("nothing imported", file=sys.stderr)
        return EXIT_PROBLEMS
    for problem in result.problems:
        print(f"{path}: {problem}")
    if result.skipped:
        print(f"imported {result.imported} orders; skipped {result.skipped} bad row(s)")
        # Every row bad is a failed import, even when asked to skip bad rows.
        return 0 if result.imported else EXIT_PROBLEMS
    print(f"imported {result.imported} orders")
    return 0


def cmd_orders_sample(args: argparse.Namespace, settings: Settings) -> int:
    from bot.orders.sample import sample_orders

    async def load(store: Any) -> tuple[int, int]:
        present = int(await store.count())
        if args.if_empty and present:
            return present, 0
        return present, int(await store.save_all(sample_orders(date.today(), count=args.count)))

    present, loaded = asyncio.run(_with_order_store(settings, load))
    if not loaded:
        print(f"supportbot: the order store already has {present} orders; sample not loaded")
        return 0
    print(
        f"supportbot: loaded {loaded} sample orders; try order 1001 with lena.fischer@example.com "
        "(the rest are described in bot/orders/sample.py)"
    )
    return 0


def cmd_orders_export_sample(args: argparse.Namespace, settings: Settings) -> int:
    from bot.orders.sample import sample_orders, write_csv

    orders = sample_orders(date.today())
    write_csv(orders, args.file)
    print(f"wrote {len(orders)} sample orders to {args.file}")
    return 0


async def _started_service(settings: Settings, *, quiet: bool = True) -> Any:
    from bot.knowledge import make_knowledge_service

    service = make_knowledge_service(
        settings.model_copy(update={"kb_reload": False}), show_progress=not quiet
    )
    await service.start()
    await service.wait_until_learned()
    return service


def cmd_kb_search(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine import understand
    from bot.small_talk import SmallTalk

    async def go() -> int:
        service = await _started_service(settings)
        try:
            query = understand(args.text)
            if isinstance(query, SmallTalk):
                print(f"decision: small talk ({query.value}); no search")
                return 0
            verdict = await service.search(query, limit=args.limit)
        finally:
            await service.stop()
        if args.json:
            print(json.dumps(_verdict_json(verdict), indent=2))
            return 0
        print(
            f"decision: {verdict.outcome.value} (confidence {verdict.confidence:.3f}, "
            f"abstain below {service.rule.abstain_below:.3f})"
        )
        for rank, hit in enumerate(verdict.hits, start=1):
            learned = "-" if hit.learned is None else f"{hit.learned:.3f}"
            print(
                f"{rank}. {hit.article_id:<36} score {hit.score:.3f}  dense {hit.dense:.3f}  "
                f"lexical {hit.lexical:.3f}  learned {learned}  {hit.title}"
            )
        return 0

    return asyncio.run(go())


def _verdict_json(verdict: Any) -> dict[str, Any]:
    return {
        "decision": verdict.outcome.value,
        "confidence": round(verdict.confidence, 4),
        "hits": [
            {
                "id": h.article_id,
                "title": h.title,
                "score": round(h.score, 4),
                "dense": round(h.dense, 4),
                "lexical": round(h.lexical, 4),
                "learned": None if h.learned is None else round(h.learned, 4),
            }
            for h in verdict.hits
        ],
    }


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_services, close_services
    from bot.channels.memory import MemoryConversation
    from bot.domain import Channel, CustomerIdentity

    async def go() -> int:
        services = await build_services(settings.model_copy(update={"kb_reload": False}), show_progress=True)
        conversation = MemoryConversation(
            services.engine,
            chat_id=f"cli-{id(services)}",
            customer=CustomerIdentity("terminal"),
            channel=Channel.CLI,
        )
        print(
            f"{settings.store_name} assistant. Type your question; an empty line or Ctrl-D quits. "
            "Answer a choice with its number."
        )
        pending: list[tuple[str, str]] = []
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except EOFError:
                    break
                if not line.strip():
                    break
                if line.strip().isdigit() and pending and 1 <= int(line) <= len(pending):
                    label, payload = pending[int(line) - 1]
                    replies = await conversation.press(payload, label)
                else:
                    replies = await conversation.say(line)
                pending = []
                for reply in replies:
                    print(f"bot> {reply.text}")
                    if reply.link:
                        print(f"     {reply.link}")
                    for choice in reply.choices:
                        pending.append((choice.label, choice.payload))
                        print(f"     [{len(pending)}] {choice.label}")
                turn = conversation.last_turn
                if args.debug and turn is not None:
                    print(f"     ({turn.decision.value}, confidence {turn.confidence:.3f})")
                    for c in turn.candidates:
                        print(
                            f"       {c.article_id:<36} {c.score:.3f} dense {c.dense:.3f} lexical {c.lexical:.3f}"
                        )
        finally:
            await close_services(services)
        return 0

    return asyncio.run(go())


def _detector(settings: Settings) -> Any:
    from bot.escalation.detector import EscalationDetector
    from bot.escalation.rules import load_rules
    from bot.knowledge import make_embedder

    rules = load_rules(settings.escalation_rules)
    embedder = make_embedder(settings) if settings.embedder == "minilm" else None
    return EscalationDetector(rules, embedder.encode if embedder else None), embedder


def cmd_escalation_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.rules import check_rules

    path = args.path or settings.escalation_rules
    rules, problems = check_rules(path)
    for problem in problems:
        print(problem)
    if problems or rules is None:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"ok: {len(rules.triggers)} triggers in {path}")
    return 0


def cmd_escalation_explain(args: argparse.Namespace, settings: Settings) -> int:
    detector, embedder = _detector(settings)
    vector = embedder.encode([args.text])[0] if embedder else None
    assessment = detector.assess(args.text, vector)
    benign = detector.closest_benign(vector) if vector is not None else None
    if args.json:
        print(
            json.dumps(
                {
                    "escalate": assessment.escalate,
                    "reason": assessment.reason,
                    "fired": [
                        {"reason": h.reason, "score": round(h.score, 4), "evidence": h.evidence}
                        for h in assessment.hits
                    ],
                    "by_meaning": [
                        {"reason": h.reason, "score": round(h.score, 4), "evidence": h.evidence}
                        for h in assessment.considered
                    ],
                    "closest_benign": None
                    if benign is None
                    else {"score": round(benign[0], 4), "text": benign[1]},
                },
                indent=2,
            )
        )
        return 0
    if assessment.escalate:
        print(f"escalate: yes, reason {assessment.reason}")
        for hit in assessment.hits:
            print(f"  fired  {hit.reason:<22} {hit.score:.3f}  {hit.evidence}")
    else:
        print("escalate: no")
    if assessment.considered:
        print("by meaning (fires at the trigger's threshold, if closer than any benign example):")
        thresholds = {t.name: t.semantic_threshold for t in detector.rules.triggers}
        for hit in assessment.considered:
            print(
                f"  {hit.reason:<22} {hit.score:.3f} (threshold {thresholds[hit.reason]:.2f})  {hit.evidence}"
            )
    if benign is not None:
        print(f"closest benign example: {benign[0]:.3f}  '{benign[1]}'")
    return 0


def cmd_eval_escalation(args: argparse.Namespace, settings: Settings) -> int:
    from bot.escalation.evaluation import evaluate, load_cases

    cases = load_cases(args.cases)
    detector, embedder = _detector(settings)
    vectors = embedder.encode([c.text for c in cases]) if embedder else None
    result = evaluate(detector, cases, vectors)
    mistakes = result.pop("mistakes")
    if args.mistakes:
        result["mistakes"] = mistakes
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0


def cmd_eval_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluation import evaluate, load_faq, load_queries
    from bot.knowledge import make_knowledge_service

    articles = load_faq(args.faq)
    queries = load_queries(args.queries)

    async def go() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as scratch:
            local = settings.model_copy(update={"kb_reload": False, "kb_path": Path(scratch)})
            service = make_knowledge_service(local)
            try:
                await service.install(articles)
                await service.wait_until_learned()
                return dict(await evaluate(service, queries))
            finally:
                await service.stop()

    result = asyncio.run(go())
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
