"""One validated settings object, read once from the environment (prefix SUPPORTBOT_)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KB_PATH = PROJECT_ROOT / "knowledge_base" / "articles"
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"
ENV_PREFIX = "SUPPORTBOT_"


class Settings(BaseSettings):
    """Every setting the bot reads. Components receive values, never the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means a SQLite file under the data directory.",
    )
    kb_path: Path = Field(default=DEFAULT_KB_PATH, description="Folder of markdown articles.")
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Where the SQLite file, vector cache and learned state live.",
    )
    host: str = Field(default="127.0.0.1", min_length=1, description="Address the server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of the server.")
    store_name: str = Field(default="Copperline Coffee Co.", min_length=1, description="Shown to customers.")
    support_contact: str = Field(
        default="help@copperline.example, Mon–Fri 9:00–17:00 Mountain Time",
        min_length=1,
        description="How customers reach a person; the bot says it when it cannot help.",
    )
    auto_migrate: bool = Field(default=True, description="Apply database migrations when the server starts.")
    embedder: Literal["minilm", "hashing"] = Field(
        default="minilm",
        description="minilm: the real sentence-transformers model; hashing: a fast deterministic stand-in for development.",
    )
    model_path: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model; default: the bundled all-MiniLM-L6-v2.",
    )
    kb_reload: bool = Field(
        default=True, description="Watch the knowledge-base folder and reload edits live."
    )
    learn: bool = Field(
        default=True,
        description="Train the ranking head on the articles' example questions (in the background).",
    )
    max_message_chars: int = Field(
        default=4000,
        ge=1,
        le=100_000,
        description="Longer customer messages are refused with a clear reply.",
    )
    abstain_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Confidence below which the bot says it does not know; empty: calibrated on the knowledge base.",
    )
    abstain_target: float = Field(
        default=0.70,
        ge=0.5,
        le=0.99,
        description="Share of unanswerable questions the calibrated threshold refuses (more: fewer wrong answers, more handoffs).",
    )
    clarify_margin: float = Field(
        default=0.04,
        ge=0.0,
        le=1.0,
        description="Offer choices when the top two articles are this close.",
    )
    escalation_rules: Path = Field(
        default=PROJECT_ROOT / "bot" / "escalation" / "rules.yaml",
        description="YAML file of escalation triggers (phrases, patterns, exemplars, thresholds).",
    )
    public_url: str | None = Field(
        default=None, description="The server's public https URL (Telegram's webhook is set to it)."
    )
    telegram_token: str | None = Field(
        default=None, description="Bot token from @BotFather; empty: no Telegram."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="Telegram Bot API base URL."
    )
    telegram_mode: Literal["polling", "webhook"] = Field(
        default="polling",
        description="webhook for production (needs the public URL and a secret), polling for local use.",
    )
    telegram_webhook_secret: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,256}$",
        description="Checked on every webhook call (X-Telegram-Bot-Api-Secret-Token); required in webhook mode.",
    )
    telegram_typing_after: float = Field(
        default=0.5,
        ge=0.0,
        le=10.0,
        description="Show 'typing…' in Telegram when an answer takes longer than this many seconds.",
    )
    widget_allowed_origins: str = Field(
        default="*",
        description="Comma-separated origins allowed to open the widget socket (e.g. https://shop.example); * allows any.",
    )
    widget_secret: str | None = Field(
        default=None,
        description="Signs widget conversation tokens; empty: generated once and kept in the data directory.",
    )
    widget_rate_per_minute: int = Field(
        default=20, ge=1, description="Messages per minute one widget conversation may send."
    )
    widget_address_rate_per_minute: int = Field(
        default=120, ge=1, description="Messages per minute from one IP address, across conversations."
    )
    slack_bot_token: str | None = Field(
        default=None, description="Slack bot token (xoxb-...); empty: handoffs go to the local desk at /desk."
    )
    slack_signing_secret: str | None = Field(
        default=None,
        description="Slack app's signing secret; every request to /slack/events is verified with it.",
    )
    slack_app_token: str | None = Field(
        default=None,
        description="Slack app-level token (xapp-...): use Socket Mode instead of HTTP (no public endpoint needed).",
    )
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL.")
    slack_channel: str | None = Field(
        default=None, description="Channel id where handoffs are posted (e.g. C0123456789)."
    )
    slack_routes: str = Field(
        default="",
        description="Channel per trigger, e.g. refund_request=C01,chargeback=C01,vip_customer=C02; others go to the main channel.",
    )
    slack_oncall_group: str | None = Field(
        default=None,
        description="Slack user group id (S...) mentioned when a first-response target is breached.",
    )
    desk_password: str | None = Field(
        default=None,
        description="Password of the local agent desk at /desk; empty: generated once, kept in the data directory and logged at start.",
    )
    business_hours: str = Field(
        default="Mon-Fri 09:00-18:00", description="When agents answer, e.g. Mon-Fri 09:00-18:00, or 24/7."
    )
    timezone: str = Field(default="Europe/Berlin", description="Time zone of the business hours (IANA name).")
    holidays: str = Field(
        default="", description="Closed days, comma-separated ISO dates (2026-12-25,2026-12-26)."
    )
    sla_first_response_minutes: float = Field(
        default=120, gt=0, description="Business minutes until an agent's first reply is due."
    )
    sla_resolution_minutes: float = Field(
        default=1440, gt=0, description="Business minutes until a handoff should be resolved."
    )
    sla_overrides: str = Field(
        default="chargeback_dispute=30m/8h,legal_threat=30m/8h,refund_request=1h/24h,vip_customer=30m/8h",
        description="Targets per trigger as first-response/resolution, e.g. chargeback_dispute=30m/8h.",
    )
    sla_reminder_share: float = Field(
        default=0.75,
        gt=0,
        lt=1,
        description="Remind the agents when this share of the first-response target has passed.",
    )
    templates_path: Path = Field(
        default=PROJECT_ROOT / "handoff" / "templates", description="Folder of reply templates (markdown)."
    )
    reply_check: Literal["hold", "warn"] = Field(
        default="hold",
        description="An agent reply without a next step or timing: hold it until the agent confirms, or send it and warn.",
    )
    order_source: Literal["embedded", "shopify", "woocommerce"] = Field(
        default="embedded",
        description=(
            "Where orders come from: embedded (imported with supportbot orders import), shopify or woocommerce."
        ),
    )
    shopify_api_url: str | None = Field(
        default=None,
        description="Shopify Admin API base URL, e.g. https://your-shop.myshopify.com/admin/api/2024-10.",
    )
    shopify_access_token: str | None = Field(
        default=None, description="Shopify Admin API access token (read_orders scope)."
    )
    woocommerce_api_url: str | None = Field(
        default=None,
        description="WooCommerce REST API base URL (https), e.g. https://your-shop.example/wp-json/wc/v3.",
    )
    woocommerce_consumer_key: str | None = Field(
        default=None, description="WooCommerce REST API consumer key (ck_..., Read permission)."
    )
    woocommerce_consumer_secret: str | None = Field(
        default=None, description="WooCommerce REST API consumer secret (cs_...)."
    )
    delivery_table: Path = Field(
        default=PROJECT_ROOT / "bot" / "orders" / "delivery.yaml",
        description="Delivery windows by country, carriers' tracking pages, when a late order goes to a person.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log verbosity."
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_token and self.telegram_mode == "webhook" and not self.telegram_webhook_secret:
            raise ValueError(
                "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET is required when SUPPORTBOT_TELEGRAM_MODE=webhook"
            )
        return self

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        if self.slack_bot_token:
            if not self.slack_channel:
                raise ValueError(
                    "SUPPORTBOT_SLACK_CHANNEL is required when SUPPORTBOT_SLACK_BOT_TOKEN is set"
                )
            if not self.slack_app_token and not self.slack_signing_secret:
                raise ValueError(
                    "SUPPORTBOT_SLACK_SIGNING_SECRET is required when SUPPORTBOT_SLACK_BOT_TOKEN is set "
                    "(or SUPPORTBOT_SLACK_APP_TOKEN for Socket Mode)"
                )
        return self

    @model_validator(mode="after")
    def _shopify_complete(self) -> Settings:
        if self.order_source == "shopify" and not (self.shopify_api_url and self.shopify_access_token):
            raise ValueError(
                "SUPPORTBOT_SHOPIFY_API_URL and SUPPORTBOT_SHOPIFY_ACCESS_TOKEN are required when "
                "SUPPORTBOT_ORDER_SOURCE=shopify"
            )
        return self

    @model_validator(mode="after")
    def _woocommerce_complete(self) -> Settings:
        if self.order_source == "woocommerce" and not (
            self.woocommerce_api_url and self.woocommerce_consumer_key and self.woocommerce_consumer_secret
        ):
            raise ValueError(
                "SUPPORTBOT_WOOCOMMERCE_API_URL, SUPPORTBOT_WOOCOMMERCE_CONSUMER_KEY and "
                "SUPPORTBOT_WOOCOMMERCE_CONSUMER_SECRET are required when SUPPORTBOT_ORDER_SOURCE=woocommerce"
            )
        return self

    @model_validator(mode="after")
    def _sla_readable(self) -> Settings:
        from handoff.sla import SlaConfigError, parse_business_hours, parse_sla_overrides

        try:
            parse_business_hours(self.business_hours, self.timezone, self.holidays)
        except SlaConfigError as exc:
            raise ValueError(
                f"SUPPORTBOT_BUSINESS_HOURS / SUPPORTBOT_TIMEZONE / SUPPORTBOT_HOLIDAYS: {exc}"
            ) from None
        try:
            parse_sla_overrides(self.sla_overrides)
        except SlaConfigError as exc:
            raise ValueError(f"SUPPORTBOT_SLA_OVERRIDES: {exc}") from None
        return self

    @property
    def routes(self) -> dict[str, str]:
        """Trigger → Slack channel, from SUPPORTBOT_SLACK_ROUTES."""
        found: dict[str, str] = {}
        for part in self.slack_routes.split(","):
            if part.strip():
                reason, _, channel = part.partition("=")
                found[reason.strip()] = channel.strip()
        return found

    @field_validator("slack_routes")
    @classmethod
    def _routes_readable(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not re.fullmatch(r"\s*[a-z_]+\s*=\s*[A-Z0-9]+\s*", part):
                raise ValueError(
                    f"expected trigger=CHANNEL_ID pairs separated by commas, not {part.strip()!r}"
                )
        return value

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip() for o in self.widget_allowed_origins.split(",") if o.strip()]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'supportbot.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise SettingsError naming each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for error in exc.errors():
        if not error["loc"]:  # a rule across settings: its message names them
            lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
            continue
        field = str(error["loc"][0])
        name = ENV_PREFIX + field.upper()
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"  {name}: {error['msg']}{shown}")
    return "\n".join(lines)


def settings_table() -> list[tuple[str, str, str]]:
    """(name, default, description) for every setting: used by the README and env.example checks."""
    rows = []
    for field, info in Settings.model_fields.items():
        default = info.default
        shown = "" if default is None or default == "" else str(default)
        if isinstance(default, Path):
            bundled = {"kb_path", "data_dir", "escalation_rules", "templates_path", "delivery_table"}
            shown = "(bundled)" if field in bundled else str(default)
        rows.append((ENV_PREFIX + field.upper(), shown, info.description or ""))
    return rows
