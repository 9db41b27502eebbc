"""Typed configuration: one pydantic model per TOML section, loaded and validated in one place."""

from __future__ import annotations

import os
import re
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from alertbot.core.cron import parse_cron
from alertbot.core.domain import Audience, Language, Severity
from alertbot.core.errors import ConfigError

TOKEN_ENV = "ALERTBOT_TELEGRAM_TOKEN"
SECRET_ENVS = {
    TOKEN_ENV: ("telegram", "token"),
    "ALERTBOT_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "ALERTBOT_STORAGE_URL": ("storage", "url"),
    "ALERTBOT_REDIS_URL": ("redis", "url"),
}
"""Environment variables that override a config key (secrets stay out of config files)."""
CONFIG_ENV = "ALERTBOT_CONFIG"
DEFAULT_CONFIG_FILES = ("config.toml", "config.example.toml")

# Lengths of the database columns these config values end up in (alertbot/storage/tables.py; the tests check
# that they agree). A longer value is refused here, naming the key, rather than by PostgreSQL at the first insert.
DISTRICT_ID_MAX = 32  # subscriptions.district_id
CAMPAIGN_ID_MAX = 48  # campaign_occurrences.campaign_id, campaign_states.campaign_id
TEMPLATE_ID_MAX = 64  # broadcasts.template_id
OFFICIAL_NAME_MAX = 128  # audit_log.actor_name
INSTANCE_NAME_MAX = 64  # instances.name; leases.holder (128) stores it with a suffix
ChatId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""A Telegram user or chat id: stored in BIGINT columns (created_by, actor_id, deliveries.chat_id)."""


class Section(BaseModel):
    """Base for config sections: unknown keys are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramConfig(Section):
    token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    """The public HTTPS URL Telegram posts updates to; the bot's server serves its path."""
    webhook_secret: SecretStr = SecretStr("")
    """Sent by Telegram in X-Telegram-Bot-Api-Secret-Token with every update (A-Z a-z 0-9 _ -, 1-256)."""
    webhook_max_connections: Annotated[int, Field(ge=1, le=100)] = 40
    concurrent_updates: Annotated[int, Field(ge=1, le=1000)] = 32
    """Updates handled at once (polling or webhook); more wait their turn, so a surge cannot exhaust the
    database's or Redis's connections."""
    update_backlog: Annotated[int, Field(ge=1)] = 5000
    """Webhook: updates taken but waiting for a turn; beyond it the webhook answers 503 and Telegram retries."""

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        if value and not (value.startswith(("http://", "https://")) and urlsplit(value).hostname):
            raise ValueError("must be an https:// URL such as https://alerts.example.org/tg/hook")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's secret_token)")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> TelegramConfig:
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError('webhook_url: needed when mode = "webhook"')
            if not self.webhook_secret.get_secret_value():
                raise ValueError('webhook_secret: needed when mode = "webhook" (or set ALERTBOT_WEBHOOK_SECRET)')
        return self

    @property
    def webhook_path(self) -> str:
        """The path of `webhook_url`, served by the bot's HTTP server."""
        return urlsplit(self.webhook_url).path or "/"


class StorageConfig(Section):
    url: str = "sqlite:///alertbot.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value


_CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d"
QUIET_HOURS_PATTERN = rf"^(?:{_CLOCK}-{_CLOCK})?$"


class BotConfig(Section):
    default_language: Language = "zh"
    quiet_hours: Annotated[str, Field(pattern=QUIET_HOURS_PATTERN)] = "22:00-07:00"
    """Reminders due inside this local-time window wait for its end ("" for none); warnings never wait."""
    timezone: str = "Asia/Shanghai"
    throttle_rate: Annotated[float, Field(gt=0)] = 3.0
    """Updates per second one person may send on average before the bot ignores the excess."""
    throttle_burst: Annotated[int, Field(ge=1)] = 10
    """How many updates one person may send at once before throttling starts."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """'30s', '15m', '2h', '3d' (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError("must be a duration such as '30s', '15m', '2h' or '3d'")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0 seconds")
    return value


def _at_least_a_second(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError("must be at least 1 second")
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
"""A wait or interval: 0 would make a loop spin or a request expire at once."""
WholeSeconds = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_at_least_a_second)]
"""At least a second: handed on in whole seconds (the send timeout, APScheduler's misfire grace), where less
would be 0, or renewed over the database every third of it (the lease), where less would flap."""
NonNegativeDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_not_negative)]


class ServerConfig(Section):
    """The bot's HTTP server: /healthz, /readyz and /metrics (port 0: any free port, as tests use)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    stop_timeout: WholeSeconds = timedelta(seconds=10)
    """On SIGTERM: how long in-flight updates and sends may take to finish before the bot stops anyway."""


class ApiConfig(Section):
    """The HTTP API under /api/v1 (keys from `alertbot api-keys create`), served by the HTTP server."""

    enabled: bool = True
    requests_per_minute: Annotated[int, Field(ge=1, le=60_000)] = 120
    """Per key: a request beyond it gets 429 with Retry-After."""
    max_body: Annotated[ByteSize, Field(ge=1024, le=16 * 2**20)] = ByteSize(64 * 1024)
    max_cap_body: Annotated[ByteSize, Field(ge=1024, le=16 * 2**20)] = ByteSize(512 * 1024)


CapText = Annotated[str, Field(pattern=r"^[^\s,<&]{1,128}$")]
"""A CAP sender or identifier part: no whitespace, commas, '<' or '&' (CAP 1.2, 3.2.1)."""


class CapConfig(Section):
    """Common Alerting Protocol 1.2: what alertbot's CAP documents say about their issuer."""

    sender: CapText = "alertbot@example.org"
    sender_name: Annotated[str, Field(min_length=1, max_length=200)] = "alertbot"
    identifier_prefix: CapText = "alertbot"
    geocode_name: Annotated[str, Field(min_length=1, max_length=64)] = "GB/T 2260"
    contact: str | None = None
    expires_after: PositiveDuration = timedelta(hours=12)
    """A warning's <expires>: this long after it was sent (the Atom feed lists it until then)."""
    feed_url: str = ""
    """The public base URL for the feed's links ("": taken from the request)."""


class RedisConfig(Section):
    """Optional Redis: shared FSM state, per-person event isolation and throttling across instances."""

    url: SecretStr = SecretStr("")
    """redis://host:6379/0 ("" for none: FSM state then lives in the database)."""
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_:.-]{1,64}$")] = "alertbot"

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class LoggingConfig(Section):
    format: Literal["text", "json"] = "text"
    """json: one JSON object per line (time, level, logger, message), for log collectors."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class AlertsConfig(Section):
    approval_severities: list[Severity] = [Severity.EXTREME]
    """Severities that need a second official (a supervisor) to approve; sends to every district always do."""
    approval_timeout: PositiveDuration = timedelta(minutes=15)
    duplicate_window: NonNegativeDuration = timedelta(minutes=10)
    """The same template, districts and variables confirmed again within this window asks "send again?"
    ("0s": never asks)."""
    test_chats: list[ChatId] = []
    """Chats that receive exercises, besides the officials themselves."""


FREE_RATE = 30.0
"""Messages/s Telegram lets a bot send without paying."""
PACE_HEADROOM = 0.98
"""The pacer aims this far under a rate: requests leave evenly spaced but reach Telegram with network jitter."""
PAID_RATE_MAX = 1000.0
"""Messages/s with `allow_paid_broadcast` (each above the free limit costs Stars)."""


class DispatchConfig(Section):
    rate: Annotated[float, Field(gt=0, le=FREE_RATE)] = FREE_RATE
    """Messages per second for the whole bot token, at Telegram's free limit or below."""
    paid_for: list[Severity] = []
    """Warnings of these severities are sent with allow_paid_broadcast (Telegram Stars) at `paid_rate`."""
    paid_rate: Annotated[float, Field(gt=FREE_RATE, le=PAID_RATE_MAX)] = PAID_RATE_MAX
    """Messages per second for the paid severities (Telegram allows up to 1000)."""
    paid_price_stars: Annotated[float, Field(ge=0)] = 0.1
    """Telegram's price per message sent above the free limit, for the preview's estimate."""
    paid_broadcast: bool = False
    """The old way of saying: every message is paid (every severity and reminders)."""
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    """Tries per message on server errors and timeouts before it is marked failed."""
    send_timeout: WholeSeconds = timedelta(seconds=10)
    progress_interval: PositiveDuration = timedelta(seconds=3)
    instance: Annotated[str, Field(min_length=1, max_length=INSTANCE_NAME_MAX)] = Field(
        default_factory=lambda: socket.gethostname()[:INSTANCE_NAME_MAX]
    )
    """This instance's name for the dispatcher lease; give each instance sharing a database its own."""
    lease_ttl: WholeSeconds = timedelta(seconds=15)
    """How long the dispatcher lease lasts without renewal (another instance takes over after it)."""

    @model_validator(mode="before")
    @classmethod
    def _old_paid_broadcast(cls, data: object) -> object:
        """`paid_broadcast = true` with `rate` above 30 (the old settings): that rate is the paid pace."""
        if not isinstance(data, dict):
            return data
        rate = data.get("rate")
        if isinstance(rate, int | float) and rate > FREE_RATE:
            if data.get("paid_broadcast") is not True:
                raise ValueError(
                    f"rate: Telegram's free limit is {FREE_RATE:g} messages/s; for faster warnings list their "
                    'severities in paid_for (e.g. paid_for = ["extreme"]) and set paid_rate'
                )
            data = {**data, "rate": FREE_RATE, "paid_rate": rate}
        return data

    @field_validator("paid_for")
    @classmethod
    def _once_each(cls, value: list[Severity]) -> list[Severity]:
        return list(dict.fromkeys(value))

    @property
    def pays(self) -> bool:
        """Is anything sent with allow_paid_broadcast?"""
        return self.paid_broadcast or bool(self.paid_for)

    def is_paid(self, severity: Severity | None) -> bool:
        """Are messages of this severity (None: reminders) sent with allow_paid_broadcast?"""
        return self.paid_broadcast or (severity is not None and severity in self.paid_for)

    def rate_for(self, severity: Severity | None) -> float:
        """The pace of bulk messages of this severity."""
        return self.paid_rate if self.is_paid(severity) else self.rate

    @property
    def top_rate(self) -> float:
        """The fastest pace the sender must keep up with."""
        return self.paid_rate if self.pays else self.rate

    def charged(self, messages: int) -> int:
        """About how many of `messages` sent at `paid_rate` go above the free limit (what Telegram bills)."""
        seconds = messages / self.paid_rate
        return max(0, messages - int(FREE_RATE * seconds))


class SeasonWindow(Section):
    """Month-day window in which a campaign runs; it may wrap the new year (from 10-15 to 03-15)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Annotated[str, Field(alias="from", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
    end: Annotated[str, Field(alias="to", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]

    def contains(self, month: int, day: int) -> bool:
        today = f"{month:02d}-{day:02d}"
        if self.start <= self.end:
            return self.start <= today <= self.end
        return today >= self.start or today <= self.end


class CampaignConfig(Section):
    id: Annotated[str, Field(pattern=rf"^[a-z0-9_]{{1,{CAMPAIGN_ID_MAX}}}$")]
    template: Annotated[str, Field(min_length=1, max_length=TEMPLATE_ID_MAX)]
    schedule: str
    """Five-field cron (minute hour day month weekday) in the bot's time zone; weekday 0 or 7 is Sunday."""
    season: SeasonWindow | None = None
    audience: str = "all"
    districts: Annotated[list[str], Field(min_length=1)] = ["*"]
    ack: bool = False
    follow_up_after: PositiveDuration | None = None
    enabled: bool = True
    variables: dict[str, str] = {}

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse_cron(value, ZoneInfo("UTC"))
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str) -> str:
        return str(Audience.parse(value))

    @model_validator(mode="after")
    def _follow_up_needs_ack(self) -> CampaignConfig:
        if self.follow_up_after is not None and not self.ack:
            raise ValueError("follow_up_after: a follow-up goes to those who did not confirm, so it needs ack = true")
        return self


class SchedulerConfig(Section):
    grace: WholeSeconds = timedelta(hours=6)
    """An occurrence missed while the bot was down is sent at start if it is at most this old."""


class LocalizedName(Section):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def __call__(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


ChannelRef = Annotated[str, Field(pattern=r"^(@[A-Za-z][A-Za-z0-9_]{4,31}|-100\d{1,16})$")]
"""A Telegram channel as the Bot API takes it: "@username" or its id ("-1001234567890")."""


class DistrictConfig(Section):
    id: Annotated[str, Field(pattern=rf"^[a-z0-9_]{{1,{DISTRICT_ID_MAX}}}$")]
    name: LocalizedName
    channels: dict[Language, ChannelRef] = {}
    """The district's public channels by language: a warning is posted there before any direct message."""
    geocode: Annotated[str, Field(pattern=r"^[0-9A-Za-z._-]{1,32}$")] | None = None
    """Its code in `[cap] geocode_name` (e.g. GB/T 2260 210102): CAP areas name it, imports map by it."""


class OfficialConfig(Section):
    telegram_id: ChatId
    name: Annotated[str, Field(min_length=1, max_length=OFFICIAL_NAME_MAX)]
    districts: Annotated[list[str], Field(min_length=1)] = ["*"]
    role: Literal["officer", "supervisor"] = "officer"


class AppConfig(Section):
    telegram: TelegramConfig = TelegramConfig()
    storage: StorageConfig = StorageConfig()
    bot: BotConfig = BotConfig()
    alerts: AlertsConfig = AlertsConfig()
    dispatch: DispatchConfig = DispatchConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    server: ServerConfig = ServerConfig()
    api: ApiConfig = ApiConfig()
    cap: CapConfig = CapConfig()
    redis: RedisConfig = RedisConfig()
    logging: LoggingConfig = LoggingConfig()
    campaigns: list[CampaignConfig] = []
    districts: Annotated[list[DistrictConfig], Field(min_length=1)]
    officials: list[OfficialConfig] = []

    @model_validator(mode="after")
    def _consistent(self) -> AppConfig:
        if self.telegram.mode == "webhook" and not self.server.enabled:
            raise ValueError('server.enabled: the webhook (telegram.mode = "webhook") is served by the HTTP server')
        ids = [d.id for d in self.districts]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"districts: duplicate id {', '.join(duplicates)}")
        geocodes = [d.geocode for d in self.districts if d.geocode]
        shared = sorted({g for g in geocodes if geocodes.count(g) > 1})
        if shared:
            raise ValueError(f"districts: geocode {', '.join(shared)} given to more than one district")
        known = set(ids)
        for n, official in enumerate(self.officials):
            unknown = [d for d in official.districts if d != "*" and d not in known]
            if unknown:
                raise ValueError(f"officials[{n}].districts: unknown district {', '.join(unknown)}")
        for n, campaign in enumerate(self.campaigns):
            unknown = [d for d in campaign.districts if d != "*" and d not in known]
            if unknown:
                raise ValueError(f"campaigns[{n}].districts: unknown district {', '.join(unknown)}")
        campaign_ids = [c.id for c in self.campaigns]
        repeated = sorted({i for i in campaign_ids if campaign_ids.count(i) > 1})
        if repeated:
            raise ValueError(f"campaigns: duplicate id {', '.join(repeated)}")
        seen: set[int] = set()
        for official in self.officials:
            if official.telegram_id in seen:
                raise ValueError(f"officials: telegram_id {official.telegram_id} listed twice")
            seen.add(official.telegram_id)
        return self

    @property
    def token(self) -> str:
        return self.telegram.token.get_secret_value()

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs or error texts: the token, the webhook secret, passwords."""
        values = [self.token, self.telegram.webhook_secret.get_secret_value()]
        for url in (self.storage.url, self.redis.url.get_secret_value()):
            password = urlsplit(url).password if "://" in url else None
            values.append(password or "")
        return [value for value in values if value]


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: the explicit path, else $ALERTBOT_CONFIG, else config.toml, else the example."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen)
    for name in DEFAULT_CONFIG_FILES:
        if Path(name).is_file():
            return Path(name)
    return Path(__file__).resolve().parent.parent / DEFAULT_CONFIG_FILES[1]


def _location(error: dict[str, object]) -> str:
    parts: list[str] = []
    for item in error.get("loc", ()):  # type: ignore[attr-defined]
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def load_config(path: str | os.PathLike[str] | None = None) -> AppConfig:
    """Read, validate and return the configuration; raise ConfigError naming the offending key."""
    config_path = resolve_config_path(path)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {config_path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {config_path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
    for variable, (section, key) in SECRET_ENVS.items():
        value = os.environ.get(variable)
        if value:
            raw.setdefault(section, {})
            if isinstance(raw[section], dict):
                raw[section][key] = value
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = _location(dict(error))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise ConfigError(f"{config_path}: " + "; ".join(problems)) from None
