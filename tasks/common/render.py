"""Rendering of user-facing documents from the Jinja2 templates in `templates/<language>/`.

A template is looked up in the folder of the requested language and, when that folder lacks it, in
the zh-CN folder. `*.html.j2` templates are HTML-escaped; `*.md.j2` ones are not (they escape user
text with the `md` filter instead). Every template gets the filters `yuan`, `num`, `pct`, `md`,
`date_zh` and `datetime_zh`; date filters write the style of the folder the template came from.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from core.settings import get_settings

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
MARKDOWN_SPECIAL = "\\`*_[]<>|"


def yuan(fen: int) -> str:
    """Integer fen as yuan with thousands separators: 123456 → '1,234.56'."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"yuan expects integer fen, got {fen!r}")
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}.{cents:02d}"


def num(count: int) -> str:
    """A whole number with thousands separators: 178000 → '178,000'."""
    return f"{count:,}"


def pct(ratio: Decimal | int | str) -> str:
    """A ratio as a percentage to 0.01 (ROUND_HALF_UP), whole numbers without decimals: 0.8807 → '88.07%'."""
    value = (Decimal(str(ratio)) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return f"{value:.0f}%"
    return f"{value}%"


def md(text: object) -> str:
    """Text made safe for Markdown: special characters backslash-escaped, line breaks turned into spaces."""
    if text is None:
        raise TypeError("md expects text, got None")
    flat = " ".join(str(text).splitlines())
    return "".join(f"\\{ch}" if ch in MARKDOWN_SPECIAL else ch for ch in flat)


def fail(message: str) -> NoReturn:
    """Stop rendering with a ValueError (for templates that meet a value they cannot present)."""
    raise ValueError(message)


def _language_of(context: Context) -> str:
    """The language folder the rendering template came from."""
    folder = (context.name or "").split("/", 1)[0]
    return folder if folder in LANGUAGES else DEFAULT_LANGUAGE


def _local(value: date, timezone: str) -> date:
    """A datetime moved to the display time zone (naive ones are UTC); a plain date unchanged."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(ZoneInfo(timezone))
    return value


@lru_cache(maxsize=8)
def _environment(templates_dir: Path, timezone: str) -> Environment:
    """The Jinja2 environment over one templates folder, built once per folder and time zone."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    @pass_context
    def date_zh(context: Context, value: date) -> str:
        """'2026年11月22日' in zh-CN templates, ISO 8601 in English ones."""
        day = _local(value, timezone)
        if _language_of(context) == "zh-CN":
            return f"{day.year}年{day.month}月{day.day}日"
        return date(day.year, day.month, day.day).isoformat()

    @pass_context
    def datetime_zh(context: Context, value: datetime) -> str:
        """A moment in the display time zone: '2026年11月22日 09:30' or '2026-11-22 09:30'."""
        if not isinstance(value, datetime):
            raise TypeError(f"datetime_zh expects a datetime, got {value!r}")
        moment = _local(value, timezone)
        return f"{date_zh(context, moment)} {moment:%H:%M}"

    env.filters.update(yuan=yuan, num=num, pct=pct, md=md, date_zh=date_zh, datetime_zh=datetime_zh)
    env.globals["fail"] = fail
    return env


def _template(env: Environment, template_name: str, language: str) -> Template:
    """The template in the language's folder, or else the zh-CN one."""
    try:
        return env.get_template(f"{language}/{template_name}")
    except TemplateNotFound:
        if language == DEFAULT_LANGUAGE:
            raise
        return env.get_template(f"{DEFAULT_LANGUAGE}/{template_name}")


def render(
    template_name: str,
    context: dict[str, Any],
    *,
    language: str = DEFAULT_LANGUAGE,
    templates_dir: Path | None = None,
) -> str:
    """The template rendered with the context; a missing context value raises UndefinedError."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language: {language!r} (expected one of {', '.join(LANGUAGES)})")
    settings = get_settings()
    folder = Path(templates_dir or settings.templates_dir).resolve()
    return _template(_environment(folder, settings.timezone), template_name, language).render(context)
