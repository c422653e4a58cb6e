"""Load stage: `aliases`, the former ids of renamed charters, and their redirect pages.

A charter renamed from `old-id` keeps its old address alive by listing
`aliases: [old-id]`. The loader checks every alias against the whole portfolio
(:func:`check_aliases`): an alias may not be the id of a charter folder, its own
included, nor an alias of another charter, since either would give one address
two pages. The outputs stage then writes a small redirect page at each old
address (:func:`redirect_pages`): a meta refresh, a canonical link and a visible
link, so it works without JavaScript and tells search engines where the page went.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING

from .diagnostics import Diagnostics

if TYPE_CHECKING:  # load imports this module
    from .load import LoadedCharter


def check_aliases(
    charters: Sequence[LoadedCharter], folder_ids: Iterable[str], diags: Diagnostics
) -> None:
    """Report each alias that names a charter folder or repeats another charter's alias.

    The error is located at the alias; an alias repeated is reported at its second
    and later uses, naming the first. Aliases that are not valid ids are already
    refused by the model.
    """
    folders = set(folder_ids)
    first: dict[str, str] = {}  # alias -> the charter that claimed it first
    for loaded in charters:
        for i, alias in enumerate(loaded.outline.aliases):
            where = ("aliases", i)
            if alias in folders:
                whose = "this charter's own id" if alias == loaded.id else "the id of a charter"
                message = (
                    f"alias {alias!r} is {whose} (charters/{alias}/): an alias is a former id"
                    " that no charter uses any more; remove it or rename that charter"
                )
                diags.add(loaded.doc.at(where, message, "alias-is-charter"))
            elif alias in first:
                owner = first[alias]
                whose = "this charter" if owner == loaded.id else f"charter {owner!r}"
                message = (
                    f"alias {alias!r} is already an alias of {whose}: one old address can"
                    " redirect to one charter only"
                )
                diags.add(loaded.doc.at(where, message, "duplicate-alias"))
            else:
                first[alias] = loaded.id


def redirect_page(old_id: str, new_id: str, title: str, canonical: str | None) -> bytes:
    """The page at `charters/<old_id>/index.html`: it sends readers to the charter's page.

    `canonical` is the charter page's absolute URL when the site has a full base_url;
    otherwise the canonical link is relative, which browsers resolve the same way.
    """
    # From charters/<old_id>/ to charters/<new_id>/index.html.
    target = posixpath.join("..", new_id, "index.html")
    href = escape(target)
    text = escape(title)
    lines = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="refresh" content="0; url={href}">',
        f'<link rel="canonical" href="{escape(canonical or target)}">',
        '<meta name="robots" content="noindex">',
        f"<title>Moved: {text}</title>",
        "</head>",
        "<body>",
        "<h1>This charter has moved</h1>",
        f'<p><code>{escape(old_id)}</code> is now <a href="{href}">{text}</a>'
        f" (<code>{escape(new_id)}</code>).</p>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode()


def redirect_pages(
    charters: Sequence[LoadedCharter], canonical: Mapping[str, str | None]
) -> dict[str, bytes]:
    """A redirect page per alias, by site path; `canonical` maps charter id to its URL."""
    files: dict[str, bytes] = {}
    for loaded in sorted(charters, key=lambda c: c.id):
        for alias in loaded.outline.aliases:
            files[f"charters/{alias}/index.html"] = redirect_page(
                alias, loaded.id, loaded.outline.title, canonical.get(loaded.id)
            )
    return files
