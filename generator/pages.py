"""Pages stage: the Jinja environment, sanitised Markdown and relative links.

Charter text is untrusted. Jinja autoescapes every value; Markdown fields are
rendered by Python-Markdown and then sanitised by nh3 (an allow-list, so scripts,
event handlers, styles, frames, forms and `javascript:`/`data:` URLs cannot pass).
Charter text is only ever data handed to templates, never a template itself, so
`{{ … }}` in a charter is shown as written.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import jinja2
import markdown as md
import nh3
from markupsafe import Markup

from . import __version__
from .formatting import (
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_relative,
    fmt_signed,
    fmt_value,
)
from .vocabulary import label, variant_label

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
if not BUILTIN_TEMPLATES.is_dir():  # running from a source checkout
    BUILTIN_TEMPLATES = Path(__file__).parent.parent / "templates"

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h3",
    "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str | None) -> Markup:
    """Markdown to sanitised HTML."""
    if not text:
        return Markup("")
    converter = md.Markdown(extensions=["tables", "sane_lists", "fenced_code"])
    html = converter.convert(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(clean)  # sanitised by nh3 just above


def render_inline_markdown(text: str | None) -> Markup:
    """Markdown for a short field shown inline: the outer paragraph is dropped."""
    html = str(render_markdown(text)).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # already sanitised


def relative_url(target: str, page: str) -> str:
    """The link from site page `page` to site file `target`, both relative to the site root."""
    start = posixpath.dirname(page) or "."
    rel = posixpath.relpath(target, start)
    if target.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return rel


def make_environment(user_templates: Path | None) -> jinja2.Environment:
    """User templates first, then the built-in ones; `builtin/NAME` always reaches a built-in."""
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None and user_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders.append(builtin)
    loaders.append(jinja2.PrefixLoader({"builtin": builtin}))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        markdown=render_markdown,
        inline_markdown=render_inline_markdown,
        number=fmt_number,
        value=fmt_value,
        signed=fmt_signed,
        percent=fmt_percent,
        relative=fmt_relative,
        p_value=fmt_p,
        interval=fmt_interval,
        label=label,
        variant=variant_label,
    )
    env.globals.update(generator_version=__version__)
    return env


def render_page(env: jinja2.Environment, template: str, page: str, **context: Any) -> str:
    """Render one page; `url(target)` in templates links relatively from this page."""

    def url(target: str) -> str:
        return relative_url(target, page)

    return env.get_template(template).render(page=page, url=url, **context)
