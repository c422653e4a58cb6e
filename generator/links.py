"""Outputs stage: the files a charter's relative `links` reach, published only when inert.

A file copied into the site is served from the site's own origin, where the
pages' `Content-Security-Policy: default-src 'self'` trusts it: an `.html` or
`.svg` with a script, or a `.js` file, published there would run as the site.
So a linked file is published only when its type is on an allow-list of types
a browser shows or downloads and never runs, and its content matches that type:

* documents and images must start with their format's signature (a `.png` that
  is really HTML is refused);
* text (`.txt`, `.md`, `.csv`, `.tsv`, `.json`, `.sql`) must be UTF-8 without NUL bytes
  and must not open like an HTML or XML document, so even a host that sends no
  `Content-Type` (and lets the browser sniff) serves it as text;
* a `.csv` or `.tsv` is published with its formula-like cells neutralised, as
  every CSV of the site is (`formatting.spreadsheet_row`), and refused when a
  spreadsheet reading it at any separator would still find a formula
  (`_formula_elsewhere`), or when its first line names a separator other than `,`,
  `;` or a tab, at which no cell is looked at (`sep=|`: `_separator_line`).

Anything else is refused with an error at the link's `url` (docs/security.md).
A link to a file the build writes beside the page (its downloads, its charts once
drawn) is good; the relative links of a charter's Markdown that its page cannot
follow (a file no link publishes, a charter or a page of the site that is not there,
a chart not drawn) are warned of (`linked_files`). `charters check` reports the same
problems as `charters build`.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .analyze import CharterView
from .catalogue import Catalogue
from .diagnostics import Diagnostic, Severity, excerpt, format_path
from .formatting import runs_as_formula, spreadsheet_row
from .paths import parse_base_url, real, requested, unportable
from .spool import Content, Spool


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda data: data.startswith(signatures)


def _webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


# Suffix → (what it is, a check of the content). Lower-case; the match ignores case.
BINARY_TYPES: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    ".pdf": ("PDF document", _starts(b"%PDF-")),
    ".png": ("PNG image", _starts(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("JPEG image", _starts(b"\xff\xd8\xff")),
    ".jpeg": ("JPEG image", _starts(b"\xff\xd8\xff")),
    ".gif": ("GIF image", _starts(b"GIF87a", b"GIF89a")),
    ".webp": ("WebP image", _webp),
}
TEXT_TYPES = (".txt", ".md", ".csv", ".tsv", ".json", ".sql")
CSV_SUFFIXES = (".csv", ".tsv")  # published with their formulas neutralised
ALLOWED_SUFFIXES = (*BINARY_TYPES, *TEXT_TYPES)

# The openings a browser sniffs as HTML or XML when a host sends no type (the WHATWG
# MIME Sniffing standard's "HTML" and "XML" patterns), after optional whitespace.
_MARKUP_TAGS = (
    "!doctype html", "html", "head", "script", "iframe", "h1", "div", "font", "table", "a",
    "style", "title", "b", "body", "br", "p",
)  # fmt: skip
_MARKUP_START = re.compile(
    rb"^[\t\n\x0c\r ]*(?:<!--|<\?xml|<(?:" + "|".join(_MARKUP_TAGS).encode() + rb")[ >])",
    re.IGNORECASE,
)
_BOM = b"\xef\xbb\xbf"


def allowed_list() -> str:
    """The allow-list as messages and docs name it: `.pdf, .png, …`."""
    return ", ".join(ALLOWED_SUFFIXES)


def content_problem(name: str, data: bytes) -> str | None:
    """Why `data`, published as file `name`, could run in a browser; None when it is inert."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in BINARY_TYPES:
        kind, check = BINARY_TYPES[suffix]
        if not check(data):
            return f"it is named {suffix} but is not a {kind} (its first bytes do not match)"
        return None
    if suffix in TEXT_TYPES:
        body = data.removeprefix(_BOM)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"a {suffix} file must be UTF-8 text (byte {exc.start} is not)"
        if b"\x00" in body:
            return f"a {suffix} file must be text, but it holds NUL bytes"
        if _MARKUP_START.match(body):
            return (
                f"it opens like an HTML or XML document, which a browser may run as a page;"
                f" a {suffix} file must not start with markup"
            )
        return None
    shown = suffix or "a file without a suffix"
    return (
        f"{shown} files are not published: only inert types are ({allowed_list()});"
        " put other files elsewhere and link them with an https URL"
    )


def spreadsheet_safe(name: str, data: bytes) -> bytes:
    """A linked `.csv` or `.tsv` with every formula-like cell neutralised (see
    `formatting.spreadsheet_row`); the same bytes when no cell needs it."""
    return b"".join(spreadsheet_safe_chunks(name, data))


SAFE_ROWS = 4096  # rows per chunk of a rewritten CSV


def spreadsheet_safe_chunks(name: str, data: bytes) -> Iterable[bytes]:
    """`spreadsheet_safe` a few thousand rows at a time, read and written as a stream:
    a large linked CSV is never held as text, rows or cells, only as its bytes."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in CSV_SUFFIXES:
        return (data,)
    delimiter = "\t" if suffix == ".tsv" else _csv_delimiter(data)
    if all(row == spreadsheet_row(row, delimiter) for row in _rows(data, delimiter)):
        return (data,)
    return _rewritten(data, delimiter)


#: The rows `_csv_delimiter` reads to tell a file's separator.
SNIFF_ROWS = 50


# The first lines that name a CSV's separator for a spreadsheet (Excel honours `sep=`
# and any one character after it) and are looked at: the separators of `spreadsheet_row`.
_SEPARATOR_LINES = {b"sep=,": ",", b"sep=;": ";", b"sep=\t": "\t"}
# A first line a spreadsheet may take for one that names a separator (written in capitals,
# quoted or spaced as a reader might forgive).
_SEPARATOR_LINE = re.compile(rb'[\s"]*sep[\s"]*=', re.IGNORECASE)


def _first_line(data: bytes) -> bytes:
    """The first line of `data`, after a byte-order mark: up to a line feed or a carriage
    return (a spreadsheet ends a line at either; old Macs wrote CR alone)."""
    return re.split(rb"[\r\n]", data.removeprefix(_BOM), maxsplit=1)[0]


def _separator_line(data: bytes) -> str | None:
    """Why a CSV whose bytes are `data` cannot be published for its first line: one a
    spreadsheet may take for a separator's (Excel honours `sep=` and any character after
    it) that is not one of :data:`_SEPARATOR_LINES`, as written; None for any other."""
    first = _first_line(data)
    if first in _SEPARATOR_LINES or not _SEPARATOR_LINE.match(first):
        return None
    return (
        f"its first line ({_shown(first)}) may name a separator for a spreadsheet (Excel"
        " splits cells at any character after 'sep='), and only the lines 'sep=,', 'sep=;'"
        " and 'sep=' with a tab, written just so, are read as such here (its cells are"
        " looked at for formulas at those); write one of them, or change the first line"
        " so that it does not start with 'sep='"
    )


def _rewritten_separator_line(data: bytes, written: bytes) -> str | None:
    """Why a CSV published as `data` cannot be, when rewriting it made its first line,
    which was `written`, one a spreadsheet may take for a separator's (`"s"ep=;` is
    written out as the cell it is, `sep=;`); None when it did not."""
    first = _first_line(data)
    if first == written or not _SEPARATOR_LINE.match(first):  # (the exact ones match too)
        return None
    return (
        f"its first line ({_shown(written)}) would be published as {_shown(first)}, which a"
        " spreadsheet may take for a line naming a separator; change the first line so that"
        " its first cell does not start with 'sep='"
    )


def _shown(line: bytes) -> str:
    return excerpt(line.decode("utf-8", "replace"))


def _csv_delimiter(data: bytes) -> str:
    """The separator a CSV names in a first line `sep=;` (as Excel reads it); else `;`
    or a tab for a CSV whose first rows (blank ones aside) all have the same number of
    cells, more than one, when split at it but not when split at `,` (as a spreadsheet
    set to a decimal comma writes it, or a tab-separated file named `.csv`); else `,`.
    Read with the wrong one, its rows would be one cell each, their formulas unseen and
    their quoting rewritten; a `,` file whose header names units with semicolons stays
    a `,` file."""
    named = _SEPARATOR_LINES.get(_first_line(data))
    if named is not None:
        return named

    def even(delimiter: str) -> bool:
        counts = set()
        try:
            for n, row in enumerate(_rows(data, delimiter)):
                if n == SNIFF_ROWS:
                    break
                if row:  # a blank line (one at the end, say) is no row of cells
                    counts.add(len(row))
        except (csv.Error, UnicodeDecodeError):
            return False
        return len(counts) == 1 and counts != {1}

    if even(","):
        return ","
    return next((d for d in (";", "\t") if even(d)), ",")


def _formula_elsewhere(name: str, content: Content, written: bytes) -> str | None:
    """Why the CSV `content` (a linked `.csv` or `.tsv` as published) cannot be published
    though each of its rows passed the rule (`spreadsheet_row`): read at a separator
    (`,`, `;`, tab) as a spreadsheet set to it reads it, a cell runs as a formula
    (`runs_as_formula`). The rule cuts a row where each such reader would; only a quote
    that opens a cell at another separator than the file's is not seen by it: the cell
    it opens may hold that separator, or a line break (`x,y;"+""a;""&HYPERLINK(…)"` in a
    `,` file: to a reader at `;`, `+"a;"&HYPERLINK(…)`). Or rewriting it made its first
    line, `written` in the source, one that names a separator for a spreadsheet
    (:func:`_rewritten_separator_line`; the source's is :func:`_separator_line`'s)."""
    if PurePosixPath(name).suffix.lower() not in CSV_SUFFIXES:
        return None
    if isinstance(content, bytes):
        data = content
    else:
        with open(content.path, "rb") as f:
            data = f.read()
    separator = _rewritten_separator_line(data, written)
    if separator is not None:
        return separator
    if b'"' not in data:
        return None  # no quote: each reader cuts the cells the rule cut
    limit = csv.field_size_limit(max(len(data), 131_072))  # a cell the file's length
    try:
        for delimiter, shown in ((",", "','"), (";", "';'"), ("\t", "a tab")):
            for number, row in enumerate(_rows(data, delimiter), 1):
                cell = next((cell for cell in row if runs_as_formula(cell)), None)
                if cell is not None:
                    return (
                        f"read with {shown} between cells, as a spreadsheet set to it reads"
                        f" it, its row {number} has a cell that may run as a formula"
                        f" ({excerpt(cell)}); put a ' before it, or quote the cell it is in"
                        " where it starts"
                    )
    finally:
        csv.field_size_limit(limit)
    return None


def _rows(data: bytes, delimiter: str) -> Iterator[list[str]]:
    """The rows of UTF-8 `data` (after a byte-order mark), decoded as they are read."""
    raw = io.BytesIO(data)  # shares `data`'s buffer
    raw.seek(len(_BOM) if data.startswith(_BOM) else 0)
    return csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""), delimiter=delimiter)


def _rewritten(data: bytes, delimiter: str) -> Iterator[bytes]:
    if data.startswith(_BOM):
        yield _BOM
    buffer = io.StringIO(newline="")
    ending = "\r\n" if b"\r\n" in data else "\n"
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    for count, row in enumerate(_rows(data, delimiter), 1):
        writer.writerow(spreadsheet_row(row, delimiter))
        if count % SAFE_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class Linked:
    """The files a project's links publish (by site path) and the problems found."""

    files: dict[str, Content]
    diagnostics: list[Diagnostic]


def _generated(view: CharterView) -> set[str]:
    """The names beside a charter's page that the build may write itself: never replaced,
    though a metric's charts are written only once it has results (:func:`_undrawn`)."""
    names = {"index.html", "results.json", "results.csv"}
    ids = view.outline.metric_ids
    return names | {f"{mid}.svg" for mid in ids} | {f"{mid}-lift.svg" for mid in ids}


def _undrawn(view: CharterView, name: str, of: str = "") -> str | None:
    """Why `name`, one of :func:`_generated`'s, is not on the site: a chart of a metric
    that has none yet (generator/charts: a metric's values are drawn once it has rows,
    its lift once a treatment has a lift over control); None when it is there. `of`
    follows the metric's name (" of the charter 'churn'")."""
    metrics = view.metrics
    if any(name == f"{mv.id}.svg" and mv.rows for mv in metrics):
        return None
    if any(name == f"{mv.id}-lift.svg" and mv.lifts for mv in metrics):
        return None
    for mv in metrics:
        if name == f"{mv.id}.svg":
            return f"is the chart of the metric {excerpt(mv.id)}{of}, which has no result rows yet"
        if name == f"{mv.id}-lift.svg":
            return (
                f"is the lift chart of the metric {excerpt(mv.id)}{of}, which has no lift of a"
                " treatment over control yet"
            )
    return None  # the page, a download


def _charter_links(root: Path, view: CharterView, linked: Linked, spool: Spool) -> None:
    relative = [(i, x) for i, x in enumerate(view.outline.links) if not urlsplit(x.url).scheme]
    if not relative:
        return  # nothing to copy (and the folder need not be resolved)
    folder = real(root / "charters" / view.id)
    generated = _generated(view)

    def report(index: int, message: str, code: str, severity: Severity = "error") -> None:
        ref = view.loaded.doc.ref(("links", index, "url"))
        linked.diagnostics.append(Diagnostic(ref, f"links[{index}].url", message, code, severity))

    start = len(linked.diagnostics)
    for index, link in relative:
        # As a browser asks and a server answers (`my%20notes.txt` is `my notes.txt`).
        asked = requested(link.url)
        if asked == "" or (asked and asked.endswith("/") and not _inside_below(folder, asked)):
            continue  # the page's own folder (`./`): its page
        # The name the browser asks for, dots resolved as it resolves them (the model
        # refused a link leaving the folder), which the file is published under.
        name = posixpath.normpath(asked) if asked is not None else ""
        if name in generated and asked is not None and _as_folder(asked):
            message = (
                f"{excerpt(link.url)} {_FILE_AS_FOLDER % excerpt(name)}; the link will be broken"
            )
            report(index, message, "link-target", "warning")
            continue
        if name in generated and (problem := _undrawn(view, name)) is not None:
            message = f"{excerpt(link.url)} {problem}; the link will be broken"
            report(index, message, "link-target", "warning")
            continue
        if name in generated or name == ".":
            continue  # a link to the page, its downloads or charts: there, not in the source
        if name == ".." or name.startswith(("../", "/")):  # the model refuses these
            message = f"{excerpt(link.url)} leaves the charter's folder; the link will be broken"
            report(index, message, "link-target", "warning")
            continue
        target = real(folder / name) if asked is not None else None
        if target is None or not os.path.exists(target):  # os.path: a name too long is not there
            message = (
                f"{excerpt(link.url)} is not a file in the charter's folder;"
                " the link will be broken"
            )
            report(index, message, "link-target", "warning")
            continue
        if not target.is_relative_to(folder):
            continue
        if name.split("/", 1)[0] in generated:
            message = (
                f"{excerpt(link.url)} is in a folder named {excerpt(name.split('/', 1)[0])},"
                " as a file the build writes beside the charter's page is: published, it"
                " would replace that file; rename the folder"
            )
            report(index, message, "link-target")
            continue
        if not target.is_file():  # a folder, a named pipe: only files are published
            kind = "a folder, not a file" if target.is_dir() else "not a regular file"
            message = f"{excerpt(link.url)} is {kind}; the link will be broken"
            report(index, message, "link-target", "warning")
            continue
        if asked is not None and _as_folder(asked):  # published; the page asks inside it
            message = f"{excerpt(link.url)} {_FILE_AS_FOLDER % excerpt(name)}"
            report(index, f"{message}; the link will be broken", "link-target", "warning")
        failed = _publish(target, name, f"charters/{view.id}/{name}", spool, linked)
        if failed is not None:
            report(index, f"{excerpt(link.url)} {failed[0]}", failed[1])
    # A link good as servers read it most often, but not as all do (`notes%2Fa.txt`).
    reported = {d.field for d in linked.diagnostics[start:]}
    for index, link in relative:
        odd = unportable(link.url)
        if odd is not None and f"links[{index}].url" not in reported:
            message = f"{excerpt(link.url)} {odd[0]}; write {excerpt(odd[1])}"
            report(index, message, "link-target", "warning")


def _publish(
    target: Path, name: str, rel: str, spool: Spool, linked: Linked
) -> tuple[str, str] | None:
    """Publish the linked file `target` as `rel` (in `linked.files`, its content in
    `spool`): None; else why not, in words that follow the link, and the code."""
    try:
        data = target.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror}); not copied", "link-target"
    problem = content_problem(name, data)
    if problem is None and PurePosixPath(name).suffix.lower() in CSV_SUFFIXES:
        problem = _separator_line(data)  # as written, so the message quotes the user's line
    if problem is None:
        try:
            chunks = spreadsheet_safe_chunks(name, data)
            content = spool.write(chunks, rel)
            # Unchanged (a tuple of `data`): looked at in memory, not read back.
            published = data if isinstance(chunks, tuple) else content
            problem = _formula_elsewhere(name, published, _first_line(data))
        except csv.Error as exc:  # a cell past the reader's limit, say
            problem = f"it cannot be read as CSV ({exc})"
        if problem is None:
            linked.files[rel] = content
            return None
    return f"cannot be published: {problem}", "link-type"


_FILE_AS_FOLDER = "is to the file %s as if it were a folder"


def _as_folder(asked: str) -> bool:
    """Whether the path `asked` names a folder (`x/`, `x/.`, `x/y/..`): a browser asks for
    a page in it."""
    return asked.endswith("/") or asked.rsplit("/", 1)[-1] in (".", "..")


def _inside_below(folder: Path, rel: str) -> bool:
    """Whether `rel` names a place inside the charter's folder `folder`, below it: the
    site has no page there (a folder of the charter's is not published)."""
    target = real(folder / rel)
    return target != folder and target.is_relative_to(folder)


def linked_files(
    root: Path,
    views: Sequence[CharterView],
    spool: Spool | None = None,
    catalogue: Catalogue | None = None,
    whole: bool = True,
    base_url: str | None = None,
) -> Linked:
    """Files in a charter's folder that its links point to, to copy beside its page; and
    the relative links of its Markdown that its page cannot follow, warned of.

    With a `spool` (the build's), each file goes there rather than staying in memory.
    `catalogue`: the catalogue's metrics (metrics.yaml), each of which has a page;
    `base_url`: site.yaml's, with which a build writes a sitemap when it is a full URL.
    Not `whole` (a charter or the catalogue did not load: `charters check`), the site's
    pages outside `charters/` are not known, and links to them are not looked at.
    """
    linked = Linked({}, [])
    for view in views:
        _charter_links(root, view, linked, spool or Spool(None))
    by_id = {view.id: view for view in views}
    aliases = {alias for view in views for alias in view.outline.aliases}  # pages redirect
    try:  # the charter folders by their names as written (a file system may ignore case)
        folders = set(os.listdir(root / "charters"))
    except OSError:
        folders = set()
    catalogue = catalogue if catalogue is not None else Catalogue()
    files = site_files(views, catalogue.ids(), root, base_url) if whole else None
    site = _Site(by_id, aliases, folders, files, catalogue, views)
    for view in views:
        _markdown_links(root, view, site, linked)
    return linked


# The site's own files that every build writes (generator/outputs.py).
ROOT_FILES = frozenset({"index.html", "404.html", "feed.xml", "robots.txt", "api/charters.json"})
# In site_files for `static/` when templates/static/ cannot be listed (the build fails
# on it, with its own error): no file names end in a slash, so this names none.
STATIC_UNKNOWN = "static/"


def site_files(
    views: Sequence[CharterView], catalogue: Iterable[str], root: Path, base_url: str | None
) -> frozenset[str]:
    """The pages and files outside `charters/` a build of `views` writes, but for the
    forest plots (`_Site.forest`): the portfolio, the rules, the outputs of
    :data:`ROOT_FILES`, a page per team and per catalogued metric (generator/pages.py:
    `portfolio_pages`) with an index of each when there are any, the static files
    (assets.static_sources) and, with a full `base_url`, the sitemap."""
    from .assets import StaticFileError, static_sources
    from .portfolio import metric_page, teams

    files = set(ROOT_FILES) | {"rules/index.html"}
    pages = [metric_page(mid) for mid in catalogue]
    files.update(pages, ["metrics/index.html"] if pages else [])
    found = [team.page for team in teams(views)]
    files.update(found, ["teams/index.html"] if found else [])
    if parse_base_url(base_url).absolute is not None:
        files.add("sitemap.xml")  # outputs.sitemap_entries: written only then
    try:
        files.update(static_sources(root))
    except StaticFileError:
        files.add(STATIC_UNKNOWN)
    return frozenset(files)


@dataclass(frozen=True)
class _Site:
    """What a Markdown link may reach: every charter by id, their former ids (`aliases`),
    whose pages redirect, the names of the folders in `charters/`, the site's files
    outside it (:func:`site_files`), and, for the forest plots, the catalogue and every
    charter."""

    by_id: Mapping[str, CharterView]
    aliases: set[str]
    folders: set[str]
    files: frozenset[str] | None  # None: not known (`linked_files`, `whole`)
    catalogue: Catalogue
    views: Sequence[CharterView]
    forests: list[set[str]] = field(default_factory=list)  # found once, when first asked

    def forest(self, mid: str) -> str | None:
        """Why the forest plot of the catalogued metric `mid` is not on the site; None
        when it is (charts.forest_of: drawn once a charter claiming it has a lift)."""
        from .portfolio import catalogued_metrics

        if not self.forests:
            found = catalogued_metrics(self.catalogue, self.views)
            lifts = {cm.entry.id for cm in found if any(c.metric.lift for c in cm.claims)}
            self.forests.append(lifts)
        if mid in self.forests[0]:
            return None
        return (
            f"is the forest plot of the metric {excerpt(mid)}, which no charter has a lift of yet"
        )


def _markdown_links(root: Path, view: CharterView, site: _Site, linked: Linked) -> None:
    """Warn of a relative link in a charter's Markdown that its page (the only one that
    shows its Markdown as HTML) cannot follow: a file of the charter's folder that is not
    published (only `links` publish files), a missing one, a charter or a charter's file
    that is not there, a page of the site that is not there, a file named as a folder;
    and of one that servers read differently (`notes%2Fa.txt`, `../..//rules/`)."""
    for path, href in view.outline.markdown_links:
        problem = _broken(root, view, site, linked, href)
        odd = unportable(href) if problem is None else None
        if problem is not None or odd is not None:
            field = format_path(path)
            message = (
                f"the link {excerpt(href)} {problem}; the link will be broken"
                if odd is None
                else f"the link {excerpt(href)} {odd[0]}; write {excerpt(odd[1])}"
            )
            ref = view.loaded.doc.ref(path)
            linked.diagnostics.append(Diagnostic(ref, field, message, "link-target", "warning"))


def _broken(root: Path, view: CharterView, site: _Site, linked: Linked, href: str) -> str | None:
    """Why the relative link `href` on charter `view`'s page is broken, in words; None
    when it is not, or it is to a place not looked at (above the site's folder)."""
    asked = requested(href)
    if asked is None:
        return "reaches no file (it names a NUL byte or bytes that are not UTF-8)"
    if not asked:
        return None  # the page itself (`#objective`)
    path = posixpath.normpath(posixpath.join("charters", view.id, asked))
    problem = _missing(root, view, site, linked, asked, path)
    base = posixpath.basename(path)
    # No folder of the site has a dot in its name (ids and slugs have none); a static file
    # may have none (`LICENSE`), and is a file all the same.
    a_file = "." in base.strip(".") or (site.files is not None and path in site.files)
    if problem is None and _as_folder(asked) and path[0] != "." and a_file:
        return _FILE_AS_FOLDER % excerpt(base)
    return problem


def _not_on_site(root: Path, files: frozenset[str], path: str) -> str:
    """:func:`_missing`'s words for `path` outside `charters/`, which the site (its
    `files`) has not."""
    from .write import MANIFEST  # here: `check` imports no more than it needs

    top = path.split("/", 1)[0]
    within = [f for f in _ancestors(path) if f in files]
    if within:  # `feed.xml/x`, `static/LICENSE/x`
        return f"is inside the file {excerpt(posixpath.basename(within[0]))} as if it were a folder"
    if path == "sitemap.xml":
        return "is the sitemap, which is written only when site.yaml's base_url is a full URL"
    if path == MANIFEST:  # on the site, but no page: the next build reads it
        return "is the build's record of the files it wrote, not a page to link to"
    if top == "static" and path.count("/") > 1:
        return (
            "is in a folder of static/, which the site has none of (only the files at the top"
            " of templates/static/ are copied)"
        )
    if path.startswith("static/") and os.path.isdir(root / "templates" / path):  # no raise
        return (
            "is a folder of templates/static/, which is not copied (only the files at its top are)"
        )
    if top == "static":
        return "is not one of the site's static files (the built-in ones and templates/static/)"
    if top == "api":
        return "is not a file of the site's API (api/charters.json)"
    return "is not a page of the site"


def _ancestors(path: str) -> list[str]:
    """The folders `path` is in, nearest last: `a/b/c` is in `a` and `a/b`."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _missing(
    root: Path, view: CharterView, site: _Site, linked: Linked, asked: str, path: str
) -> str | None:
    """:func:`_broken`'s answer for the link `asked` (decoded), which names `path` in the
    site, but for a file named as a folder."""
    top = path.split("/", 1)[0]
    if path in (".", "index.html") or top == "..":
        return None  # the portfolio; above the site (another site on its host?)
    if path == "charters":
        return "is to the folder of all charters, which has no page"
    parts = path.split("/")
    if parts[0] != "charters":
        if site.files is None:
            return None  # not known: a charter or the catalogue did not load
        page = posixpath.join(*parts[:2], "index.html")
        if parts[0] == "metrics" and parts[2:] == ["forest.svg"] and page in site.files:
            return site.forest(parts[1])  # a catalogued metric's
        if path in site.files or f"{path}/index.html" in site.files:
            return None
        if top == "static" and STATIC_UNKNOWN in site.files:
            return None  # templates/static/ cannot be read: the build's error says so
        return _not_on_site(root, site.files, path)
    by_id, aliases, folders = site.by_id, site.aliases, site.folders
    cid, name = parts[1], "/".join(parts[2:])
    other = by_id.get(cid)
    if other is None and name in ("", "index.html") and cid in aliases:
        return None  # a former id of a charter's: its page redirects
    if (
        other is None
        and cid in folders
        and os.path.isfile(root / "charters" / cid / "charter.yaml")
    ):
        return None  # a charter that did not load: its own errors say why
    if other is None:
        return f"is to the charter {excerpt(cid)}, which there is not"
    if name in ("", "index.html"):
        return None
    if name in _generated(other):
        return _undrawn(other, name, "" if cid == view.id else f" of the charter {excerpt(cid)}")
    if asked.endswith("/"):
        return "is to a folder, which is not published"
    if f"charters/{cid}/{name}" in linked.files:
        return None  # published by a link of that charter's `links`
    if cid != view.id:
        return f"is not a page or a published file of the charter {excerpt(cid)}"
    if os.path.isfile(real(root / "charters" / cid / name)):
        return (
            "is to a file of the charter's folder that is not published (only files"
            " listed under `links` are: list it there)"
        )
    return "is not a file in the charter's folder"
