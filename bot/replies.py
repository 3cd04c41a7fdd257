"""Everything the bot says in its own words, in one place so a store can reword it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Choice, Reply
from bot.small_talk import SmallTalk

HUMAN_PAYLOAD = "human"
START_PAYLOAD = "start"  # Telegram's /start, a widget's first open
ARTICLE_PAYLOAD_PREFIX = "article:"


@dataclass(frozen=True, slots=True)
class Wording:
    store_name: str
    support_contact: str

    def talk_to_person(self) -> Choice:
        return Choice("Talk to a person", HUMAN_PAYLOAD)

    def small_talk(self, kind: SmallTalk) -> Reply:
        text = {
            SmallTalk.GREETING: f"Hi! I'm the {self.store_name} assistant. Ask me about orders, shipping, "
            "returns or our products.",
            SmallTalk.THANKS: "You're welcome! Is there anything else I can help with?",
            SmallTalk.GOODBYE: "Thanks for stopping by. Have a great day!",
            SmallTalk.ACK: "Great. Anything else I can help with?",
            SmallTalk.BOT_QUESTION: f"I'm the {self.store_name} virtual assistant. I answer common questions "
            "straight away, and I can bring in a person from our team whenever you like.",
            SmallTalk.WELLBEING: "I'm doing well, thanks for asking! What can I help you with today?",
        }[kind]
        return Reply(text)

    def answer(self, title: str, body: str, link: str | None) -> Reply:
        return Reply(body, link=link)

    def clarify(self, titles: list[tuple[str, str]]) -> Reply:
        choices = tuple(Choice(title, ARTICLE_PAYLOAD_PREFIX + article_id) for article_id, title in titles)
        return Reply(
            "I want to be sure I answer the right question. Which of these is closest?",
            choices=(*choices, self.talk_to_person()),
        )

    def abstain(self) -> Reply:
        return Reply(
            "I'm sorry, I don't know the answer to that one, and I'd rather not guess. "
            f"A person from our team can help: {self.support_contact}.",
            choices=(self.talk_to_person(),),
        )

    def handoff_requested(self, reason: str = "human_request") -> Reply:
        opening = {
            "human_request": "Of course, I'm bringing in a person from our team.",
            "refund_request": "Refunds are handled by a person on our team, so I've passed this to them.",
            "chargeback_dispute": "Payment disputes are handled by a person on our team, so I've passed this to them.",
            "legal_threat": "I'm sorry it has come to this. I've passed your message to a person on our team.",
            "threat_public_review": "I'm sorry about your experience. I've passed this to a person on our team.",
            "quality_issue": "Thank you for telling us. Product quality and safety problems go straight to our team.",
            "angry_customer": "I'm sorry this has been so frustrating. I've passed your conversation to a person on our team.",
            "bot_loop": "I'm sorry I couldn't answer that. I've passed your conversation to a person on our team.",
            "repeat_contact": "I see you've asked about this before, so I've passed it to a person on our team.",
        }.get(reason, "I've passed your conversation to a person on our team.")
        return Reply(
            f"{opening} They'll see everything you've written so far, so you won't need to repeat yourself. "
            f"You can also reach them directly: {self.support_contact}."
        )

    def invalid(self, problem: str, limit: int) -> Reply:
        text = {
            "empty": "I didn't get any text there. Could you type your question?",
            "too_long": f"That message is too long for me (the limit is {limit:,} characters). "
            "Could you send your main question in a shorter message?",
            "binary": "I can only read text messages. Could you type your question?",
            "no_words": "I couldn't find a question in that message. Could you type it in words?",
        }.get(problem, "Sorry, I couldn't read that message. Could you type your question again?")
        return Reply(text)

    def attachment_received(self, kinds: list[str]) -> Reply:
        what = {"photo": "photo", "document": "file", "video": "video", "voice": "voice message"}
        names = sorted({what.get(k, "file") for k in kinds})
        shown = " and ".join(names) if names else "file"
        return Reply(
            f"Thanks, I've received your {shown} and saved it with this conversation. "
            "If it's about a problem with an order, tell me what happened in a few words."
        )

    def unavailable(self) -> Reply:
        return Reply(
            "Sorry, something went wrong on our side and I couldn't look that up. "
            f"Please try again in a moment, or reach our team: {self.support_contact}."
        )
