"""Settings: environment variables ``FMCSA_TUI_*`` over a TOML file over defaults.

The file lives in the platform's user config dir (``config.toml``), or wherever
``FMCSA_TUI_CONFIG`` points. Secrets are ``SecretStr`` so they never print by accident.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from pytimeparse import parse as parse_duration

APP_NAME = "fmcsa-tui"
ENV_PREFIX = "FMCSA_TUI_"
DEFAULT_QC_BASE_URL = "https://mobile.fmcsa.dot.gov/qc/services"
DEFAULT_HUB_BASE_URL = "https://data.transportation.gov"
#: Textual's default dark theme; the dashboard checks a name against Textual's themes
#: (this layer does not import Textual).
DEFAULT_THEME = "textual-dark"
#: How long run history is kept (`history_retention`), when nothing says otherwise.
DEFAULT_HISTORY_RETENTION = timedelta(days=90)
_RETENTION_BOUNDS = (timedelta(hours=1), timedelta(days=3650))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_store_url() -> str:
    return f"sqlite:///{user_data_dir() / 'fmcsa-tui.db'}"


def demo_store_url() -> str:
    return f"sqlite:///{user_data_dir() / 'demo.db'}"


def config_file() -> Path:
    override = os.environ.get("FMCSA_TUI_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def http_base_url(text: str) -> str:
    """`text` as a usable http(s) base URL without a trailing slash; ValueError says why.

    One rule for the configured FMCSA addresses and `--fmcsa URL`: a scheme of http or
    https, a host, a valid port, nothing a terminal or a request line would choke on, no
    credentials (they would be printed with the URL), no query or fragment.
    """
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError("a URL cannot contain spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValueError("the URL's port is not a number from 1 to 65535") from None
    if parts.port == 0:
        raise ValueError("the URL's port is not a number from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL cannot carry a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("the URL cannot carry a query or fragment")
    return text.rstrip("/")


class Settings(BaseSettings):
    """Every knob of fmcsa-tui. Field name ``foo_bar`` is env ``FMCSA_TUI_FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", validate_default=True, allow_inf_nan=False
    )

    store: str = Field(default_factory=default_store_url, description="Store URL")
    read_only: bool = Field(
        False, description="Browse only: the store refuses every write (--read-only)"
    )
    mongo_database: str | None = Field(
        None, description="MongoDB database when the store URL's path names none"
    )
    mongo_companies: str = Field("companies", description="MongoDB companies collection")
    mongo_inspections: str = Field(
        "fmcsainspections", description="MongoDB inspection-detail collection"
    )
    qc_base_url: str = Field(DEFAULT_QC_BASE_URL, description="QCMobile base URL")
    hub_base_url: str = Field(DEFAULT_HUB_BASE_URL, description="DOT DataHub base URL")
    webkey: SecretStr | None = Field(None, description="QCMobile webKey")
    app_token: SecretStr | None = Field(None, description="DataHub X-App-Token")

    concurrency: int = Field(8, ge=1, le=256, description="Companies synced at once")
    qc_rate_limit: float = Field(
        20.0, ge=0, description="QCMobile requests per second (0 = unlimited)"
    )
    hub_rate_limit: float = Field(
        20.0, ge=0, description="DataHub requests per second (0 = unlimited)"
    )
    hub_batch_size: int = Field(
        50,
        ge=1,
        le=200,
        description="Carriers one DataHub query asks for in a bulk run (1 = one each)",
    )
    hub_batch_window: float = Field(
        0.05, ge=0, le=5, description="Seconds a DataHub batch waits for more carriers"
    )
    timeout: float = Field(15.0, gt=0, description="Seconds before one request times out")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts per request, first included")
    backoff_base: float = Field(0.5, ge=0, description="First retry delay in seconds")
    backoff_max: float = Field(30.0, ge=0, description="Longest delay between attempts")
    retry_after_max: float = Field(
        120.0, ge=0, description="Longest Retry-After honoured; a longer one fails the source"
    )
    source_deadline: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Seconds one source may take in all, retries and waits included",
    )
    max_response_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        le=1024 * 1024 * 1024,
        description="Largest answer accepted, before and after decompression",
    )
    max_rows: int = Field(
        100_000, ge=1, le=10_000_000, description="Most DataHub rows one source may hold"
    )
    page_size: int = Field(1000, ge=1, le=50000, description="DataHub rows per page")
    stale_after_hours: float = Field(
        24.0, gt=0, description="A source is stale after this long without success"
    )
    confirm_typed_over: int = Field(
        1000,
        ge=0,
        description="A bulk action touching more carriers than this asks for the count typed",
    )
    keymap: dict[str, str] = Field(
        default_factory=dict,
        description='Dashboard keys by binding id, e.g. {"app.resync": "ctrl+r"}',
    )
    theme: str = Field(
        DEFAULT_THEME,
        min_length=1,
        max_length=64,
        description="The dashboard's colour theme, one of Textual's (saved when picked)",
    )
    lease_seconds: float = Field(
        120.0,
        gt=0,
        le=86_400,
        description="How long a run's per-company lease lasts between renewals",
    )

    history_retention: timedelta = Field(
        DEFAULT_HISTORY_RETENTION,
        description="How long run history is kept: an age such as 90d, 12h (pytimeparse)",
    )

    @field_validator("history_retention", mode="before")
    @classmethod
    def _age(cls, value: Any) -> Any:
        """An age as the CLI's are written (``90d``, ``36h``), or seconds; 1h to 3650d."""
        if isinstance(value, str):
            seconds = parse_duration(value.strip())
            if seconds is None:
                raise ValueError(f"{value!r} is not an age such as 90d, 36h or 45m")
            value = timedelta(seconds=seconds)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = timedelta(seconds=value)
        if isinstance(value, timedelta) and not (
            _RETENTION_BOUNDS[0] <= value <= _RETENTION_BOUNDS[1]
        ):
            raise ValueError("must be between 1h and 3650d")
        return value

    @field_validator("qc_base_url", "hub_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return http_base_url(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    def secrets(self) -> list[str]:
        """The secret values, for scrubbing them out of any text shown or stored."""
        return [
            secret.get_secret_value()
            for secret in (self.webkey, self.app_token)
            if secret is not None and secret.get_secret_value()
        ]


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting and where it came from."""


def setting_origin(name: str, overridden: bool = False) -> str:
    """Where setting `name` was given, in the words an operator would look for it."""
    if overridden:
        return f"--{name.replace('_', '-')}"
    env = f"{ENV_PREFIX}{name.upper()}"
    if env in os.environ:
        return env
    return f"`{name}` in {config_file()}"


def _check_config_file(path: Path) -> None:
    """A config file that exists is a readable TOML file naming known settings only."""
    if not path.exists():
        return
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a file (FMCSA_TUI_CONFIG names it)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    unknown = sorted(key for key in data if key not in Settings.model_fields)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r}")


def load_settings(**overrides: Any) -> Settings:
    """Settings with explicit overrides (CLI flags) on top; None means 'not given'.

    Raise ConfigError, naming the setting and where it came from (flag, environment
    variable or config file line), for anything that cannot be used.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    _check_config_file(config_file())
    try:
        return Settings(**given)
    except SettingsError as error:  # an env var that should hold JSON does not
        field = str(error).split('"')[1] if '"' in str(error) else "?"
        raise ConfigError(
            f"bad setting {setting_origin(field)}: not valid JSON"
            ' (expected an object such as {"app.resync": "ctrl+r"})'
        ) from None
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        detail = ".".join(str(part) for part in first["loc"][1:])
        where = setting_origin(field, overridden=field in given)
        raise ConfigError(
            f"bad setting {where}{f' ({detail})' if detail else ''}: {first['msg']}"
        ) from None


def save_setting(name: str, value: str) -> Path:
    """Write `name = value` into the config file, keeping its other lines and comments.

    Return the file's path; ConfigError (one line) when it cannot be read as TOML or
    written. The file is rewritten in place, so a symlink or its permissions stay.
    tomlkit is imported here, when a theme is picked, not with every command."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = config_file()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
        document[name] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomlkit.dumps(document), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot save to config file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; left unchanged") from None
    except TOMLKitError as error:
        reason = (str(error).splitlines() or ["?"])[0]
        raise ConfigError(
            f"config file {path} is not valid TOML ({reason}); left unchanged"
        ) from None
    return path


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """A validated copy (``model_copy`` would skip validation, leaving raw strings)."""
    return Settings(**{**settings.model_dump(), **overrides})
