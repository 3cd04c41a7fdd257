"""Recognising order questions, order numbers, emails and postcodes in what customers write.

Pure and cheap (precompiled patterns, no model): it runs before the search on every message.
"Where is my stuff" is an order question; "how long does shipping to Chicago take" is a policy
question for the knowledge base, and must stay one.
"""

from __future__ import annotations

import re

from bot.orders.model import normalise_number

_NOUNS = (
    r"(?:order|orders|package|packages|parcel|parcels|stuff|delivery|shipment|box|items?|purchases?|"
    r"coffee|beans|grinder|kettle|dripper|mug|mugs|things)"
)
_STATUS_WORDS = re.compile(
    r"\b(?:where|when|status|track|tracking|ship|shipped|sent|dispatched|arrive|arrived|arriving|deliver|"
    r"delivered|delivery|received?|late|yet|lost|missing|update|eta|locate|check)\b",
    re.IGNORECASE,
)
_INTENT = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\bwhere(?:'?s|\s+is|\s+are|\s+r)\s+(?:my|our)\s+(?:\w+\s+){{0,2}}{_NOUNS}\b",
        rf"\bwhere(?:'?s|\s+is|\s+are)\s+the\s+{_NOUNS}\b",
        r"\bwhere(?:'?s|\s+is)\s+it\s*(?:[?.!]|$|\bnow\b|\bat\b)",
        rf"\b(?:my|the|our)\s+(?:\w+\s+){{0,2}}{_NOUNS}\s+(?:has|have|hasn'?t|haven'?t|still|is|isn'?t|was|wasn'?t)?\s*"
        r"(?:not\s+|never\s+|still\s+not\s+)?(?:arrived|come|here|shipped|been\s+shipped|been\s+sent|showed\s+up|"
        r"shown\s+up|delivered)\b",
        r"\b(?:has|did|have|was|is)\s+(?:my\s+(?:\w+\s+){0,2}order|the\s+order|my\s+package|my\s+parcel|"
        r"my\s+stuff|my\s+coffee)\s+(?:been\s+)?(?:ship|shipped|sent|dispatched|arrive|arrived|delivered|left)\b",
        r"\b(?:has|did|was|is)\s+it\s+(?:been\s+)?(?:ship|shipped|dispatched|arrive|arrived|delivered)\b",
        r"\bnot\s+(?:here|arrived|received|delivered|come)\s+yet\b",
        r"\b(?:hasn'?t|haven'?t|have\s+not|has\s+not|didn'?t|did\s+not|never)\s+"
        r"(?:arrived|come|shown\s+up|showed\s+up)\b",
        rf"\b(?:hasn'?t|haven'?t|have\s+not|has\s+not|didn'?t|did\s+not|never|not)\s+(?:yet\s+)?"
        rf"(?:received|got|gotten)\s+(?:my|the|our)\s+(?:\w+\s+){{0,2}}{_NOUNS}\b",
        r"\bstill\s+(?:waiting|haven'?t|no\s+sign)\b.*\b(?:order|package|parcel|delivery|stuff)\b",
        rf"\btrack(?:ing)?\s+(?:my\s+|the\s+|an?\s+)?{_NOUNS}\b",
        r"\b(?:order|delivery|shipping|shipment)\s+status\b",
        r"\bstatus\s+(?:of|on)\s+(?:my|the|an?)\s+(?:\w+\s+)?(?:order|package|parcel|delivery|shipment)\b",
        rf"\bwhen\s+(?:will|is|does|do|should)\s+(?:my|the|it|our)\s*(?:\w+\s+){{0,2}}{_NOUNS}?\s*"
        r"(?:arrive|come|get\s+here|be\s+delivered|be\s+here|ship|be\s+shipped|be\s+sent)\b",
        r"\b(?:check|look\s+up|lookup|find)\s+(?:on\s+)?(?:my|an?|the)\s+order\b",
        r"\bwo\s+ist\s+meine\s+(?:bestellung|lieferung|sendung|paket)\b",
        r"\bwaar\s+is\s+mijn\s+(?:bestelling|pakket)\b",
        r"\b(?:o[uù]\s+est|où\s+en\s+est)\s+ma\s+commande\b",
        r"\bd[oó]nde\s+est[aá]\s+mi\s+(?:pedido|paquete)\b",
    )
]
# Weaker signals: an order question unless the message is about something else done to an order.
_WEAK_INTENT = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\b(?:eta|status|whereabouts|progress|estimated\s+time\s+of\s+arrival)\b.{{0,40}}\b{_NOUNS}",
        rf"\b{_NOUNS}.{{0,30}}\b(?:status|eta)\b",
        rf"\b(?:locate|locating|trace|track|teack|trak|rtack)\b.{{0,30}}\b{_NOUNS}",
    )
]
_OTHER_BUSINESS = re.compile(
    r"\b(?:cancel\w*|change|changing|modify|modifying|edit|invoice\w*|bill|receipt|return\w*|exchange|refund\w*|"
    r"address|payment|pay|discount|voucher|coupon)\b",
    re.IGNORECASE,
)
# A general question about how ordering works is for the knowledge base, not a lookup.
_GENERAL = re.compile(
    r"\b(?:usually|normally|typically|in\s+general|generally|how\s+long\s+does|how\s+long\s+do|do\s+you\s+ship|"
    r"does\s+(?:my|an?|the)\s+order\s+ship\s+from|can\s+i|how\s+do\s+i|what\s+is\s+your|what'?s\s+your|"
    r"if\s+i\s+(?:order|buy|place)|if\s+you\s+order|once\s+i\s+order)\b",
    re.IGNORECASE,
)
_HASH_NUMBER = re.compile(r"#\s?([A-Za-z]{0,4}-?\d{3,15})\b")
_ORDER_WORD_NUMBER = re.compile(
    r"\b(?:order|purchase|bestellung|commande|pedido|bestelling)\s*(?:number|no\.?|nr\.?|num\.?|id|#|nummer)?\s*[:#]?\s*"
    r"([A-Za-z]{0,4}-?\d{3,15})\b",
    re.IGNORECASE,
)
_PREFIXED_NUMBER = re.compile(r"\b([A-Za-z]{1,4}-\d{3,15})\b")
_BARE_NUMBER = re.compile(r"(?<![\w.,/-])(\d{3,15})(?![\w.,/-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")


def is_order_question(text: str) -> bool:
    """A question about the customer's own order (status, whereabouts), not about policies."""
    if _GENERAL.search(text) and not _HASH_NUMBER.search(text) and not _ORDER_WORD_NUMBER.search(text):
        return False
    if any(p.search(text) for p in _INTENT):
        return True
    if _OTHER_BUSINESS.search(text):
        return False
    if any(p.search(text) for p in _WEAK_INTENT):
        return True
    # "#1234 not here yet", "order 1234?": an order number with a status word is an order question.
    return bool(order_numbers(text)) and bool(_STATUS_WORDS.search(text) or len(text.split()) <= 3)


def order_numbers(text: str, *, bare: bool = False) -> list[str]:
    """Order numbers in the text, normalised, in order of appearance. Bare digits ("1234") count only
    when the caller knows a number is expected (it asked for one, or the message is an order question)."""
    found: list[tuple[int, str]] = []
    for pattern in (_HASH_NUMBER, _ORDER_WORD_NUMBER, _PREFIXED_NUMBER):
        found.extend((m.start(1), m.group(1)) for m in pattern.finditer(text))
    if bare:
        without_emails = _EMAIL.sub(" ", text)
        found.extend((m.start(1), m.group(1)) for m in _BARE_NUMBER.finditer(without_emails))
    numbers: list[str] = []
    for _, raw in sorted(found):
        number = normalise_number(raw)
        if number not in numbers and any(c.isdigit() for c in number):
            numbers.append(number)
    return numbers


def email_in(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def postcode_in(text: str) -> str | None:
    """A postcode given on its own ("10115", "SW1A 1AA", "1012 AB"), not a sentence."""
    candidate = text.strip().strip(".")
    if _POSTCODE.match(candidate) and any(c.isdigit() for c in candidate) and len(candidate.split()) <= 2:
        return candidate
    return None
