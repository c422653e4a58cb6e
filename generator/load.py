"""Load stage: the source tree read, validated against the model and cross-checked.

`load_project` walks `site.yaml` and `charters/*/charter.yaml`, validates each
against the model (`messages.py` words the errors), checks what relates one field
to another (declared metric ids, the human baseline past `proposed`) and loads the
charter's result files (`results.py`). It never raises for bad input: it returns
what it could load and a list of located diagnostics. Nothing is written here.
"""

from __future__ import annotations

import os
import pickle
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from . import model as m
from .aliases import check_aliases
from .catalogue import Catalogue, load_catalogue, resolve_refs
from .columns import ResultTable, RowStore
from .diagnostics import Diagnostics, SourceRef, excerpt, format_path, printable, today_from_env
from .formatting import finite
from .messages import not_declared, validate_model
from .names import check_names
from .paths import LOOP, loops, requested
from .readers import Document, FieldPath, holds_no_yaml, inside, parse_yaml, read_text
from .results import Result, load_results, metric_bounds, outside_bounds, unread_problem
from .vocabulary import STATUSES, past

__all__ = [
    "Document",
    "FieldPath",
    "LoadedCharter",
    "Project",
    "Result",
    "connection_problem",
    "load_project",
    "load_site",
    "validate_model",
]


@dataclass
class LoadedCharter:
    """A charter that passed validation, with its source positions and results."""

    id: str
    path: str  # charter.yaml, relative to the source root
    charter: m.Charter
    doc: Document
    # The rows as columns; a list of `Result`s given here is copied into a table.
    results: ResultTable = field(default_factory=lambda: ResultTable(RowStore()))

    def __post_init__(self) -> None:
        self.results = ResultTable.of(self.results)

    def metric_ids(self) -> list[str]:
        return list(self.outline.metric_ids)

    @cached_property
    def outline(self) -> Outline:
        """The few fields that what is made from every charter reads of this one."""
        return Outline.of(self.charter)


@dataclass(frozen=True)
class Outline:
    """The fields of a charter that the parts of a build made from every charter read of
    each: the portfolio's filters and groups, the teams, the sitemap's dates, the aliases
    (with the title their redirect pages name), pulls (with the result globs they must
    match) and links checked across charters, and the names of its charts and metrics. A
    charter read back from the cache has these at once and the rest when first asked for
    (`LazyLoaded`), so a build after an edit of one charter unpickles no other, but for
    those that claim a catalogued metric (its page and forest chart show their numbers).
    The status and the cadence are all the staleness rule, which the build date changes,
    reads of the charter (rules.check_views)."""

    title: str
    status: m.Status
    team: str | None
    tags: tuple[str, ...]
    decision_dates: tuple[date, ...]
    aliases: tuple[str, ...]
    pull: tuple[m.Pull, ...]
    results: tuple[str, ...] | None  # the globs of its result files (None: the default)
    links: tuple[m.Link, ...]
    metric_ids: tuple[str, ...]  # every metric's, in the order of `m.Charter.metrics()`
    cadence: str | None  # of its measurement: the staleness rule, judged at every build
    # The relative links of its Markdown, with their fields: links.py looks them up.
    markdown_links: tuple[tuple[FieldPath, str], ...] = ()

    @classmethod
    def of(cls, charter: m.Charter) -> Outline:
        return cls(
            title=charter.title,
            status=charter.status,
            team=charter.team,
            tags=tuple(charter.tags),
            decision_dates=tuple(d.date for d in charter.decisions),
            aliases=tuple(charter.aliases),
            pull=tuple(charter.pull),
            results=tuple(charter.results) if charter.results is not None else None,
            links=tuple(charter.links),
            metric_ids=tuple(e.metric.id for e in charter.metrics()),
            cadence=charter.measurement.cadence,
            markdown_links=relative_markdown_links(charter),
        )


def relative_markdown_links(charter: m.Charter) -> tuple[tuple[FieldPath, str], ...]:
    """The links of the charter's Markdown to a path (no scheme, not a fragment of the
    page alone), with the field each is written in, once each, as its page renders them:
    only a text with a `[` or an `<a` is rendered, as there is no link without one."""
    texts = [
        (path, text)
        for path, text in m.markdown_texts(charter)
        if "[" in text or "<a" in text.lower()
    ]
    if not texts:
        return ()
    from .markup import hrefs, render_markdown  # Markdown and the sanitiser: only when needed

    found: list[tuple[FieldPath, str]] = []
    for path, text in texts:
        for href in hrefs(str(render_markdown(text))):
            try:
                scheme = urlsplit(href).scheme
            except ValueError:  # not a URL a browser follows
                continue
            if not scheme and not href.startswith(("#", "/", "\\")):
                found.append((path, href))
    return tuple(dict.fromkeys(found))


class Stored:
    """The parts of a charter read back from the cache that take long to unpickle (its
    model, its rows, its metrics' views), in one inner pickle unpickled when one of them
    is first asked for; shared by the charter (`LazyLoaded`) and its view
    (`analyze.LazyView`), which then hold the same objects as when they were stored."""

    def __init__(self, blob: bytes) -> None:
        self._blob: bytes | None = blob
        self._parts: tuple[m.Charter, ResultTable, list[Any]] | None = None

    def parts(self) -> tuple[m.Charter, ResultTable, list[Any]]:
        if self._parts is None:
            assert self._blob is not None
            self._parts = pickle.loads(self._blob)
            self._blob = None
        return self._parts

    @property
    def unpacked(self) -> bool:
        return self._parts is not None


class LazyLoaded(LoadedCharter):
    """A `LoadedCharter` as read back from the cache: its id, path, document (itself
    lazy: readers.LazyDocument) and outline at once; its model and rows from `stored`
    when first asked for."""

    def __init__(  # not the dataclass's __init__
        self, id: str, path: str, doc: Document, outline: Outline, stored: Stored
    ) -> None:
        self.__dict__.update(id=id, path=path, doc=doc, outline=outline, _stored=stored)

    @property
    def charter(self) -> m.Charter:  # type: ignore[override]
        return self.__dict__["_stored"].parts()[0]  # type: ignore[no-any-return]

    @property
    def results(self) -> ResultTable:  # type: ignore[override]
        return self.__dict__["_stored"].parts()[1]  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole, as a `LoadedCharter` (a view pickles its own: reuse._lazy_view)."""
        return (LoadedCharter, (self.id, self.path, self.charter, self.doc, self.results))


# Named as the class it stands for (see analyze.LazyView); never pickled by name.
LazyLoaded.__name__ = LazyLoaded.__qualname__ = LoadedCharter.__name__


@dataclass
class Project:
    """Everything loaded from a source tree."""

    root: Path
    site: m.SiteConfig
    charters: list[LoadedCharter]
    site_doc: Document | None = None
    catalogue: Catalogue = field(default_factory=Catalogue)


class CharterCache(Protocol):
    """Where a build takes charters loaded before (generator/reuse.py)."""

    def load(
        self,
        root: Path,
        folder: Path,
        diags: Diagnostics,
        load_one: Callable[[Path, Diagnostics], LoadedCharter | None],
    ) -> LoadedCharter | None: ...


def load_project(
    root: Path,
    today: date | None = None,
    cache: CharterCache | None = None,
    rows: Mapping[str, ResultTable] | None = None,
) -> tuple[Project, Diagnostics]:
    """Load and validate `root`; return the valid charters and every problem found.

    `today` is the build date, after which no result may be dated; by default the
    date of `diagnostics.today_from_env` (SOURCE_DATE_EPOCH, else the real date).
    `cache` may give a charter (and its diagnostics) loaded before from the same input.
    `rows` gives charters (by id) their result rows instead of their files: another
    version's, as loaded with that version (verdict_history.py judges a charter before
    an edit on the rows that came with it, as `charters diff` does).
    """
    if today is None:
        today = today_from_env()
    diags = Diagnostics()
    site, site_doc = load_site(root, diags)
    catalogue = load_catalogue(root, diags)
    if catalogue.doc is not None and isinstance(catalogue.doc.data, list):
        for i, item in enumerate(catalogue.doc.data):
            if isinstance(item, dict):
                _check_agreement_date(catalogue.doc, (i,), item, today, diags)
    charters: list[LoadedCharter] = []
    folders = _charter_folders(root, diags)

    def load_one(folder: Path, into: Diagnostics) -> LoadedCharter | None:
        given = rows.get(folder.name) if rows is not None else None
        return _load_charter(root, folder, into, today, catalogue, given)

    for entry in folders:
        if cache is not None:
            loaded = cache.load(root, entry, diags, load_one)
        else:
            loaded = load_one(entry, diags)
        if loaded is not None:
            charters.append(loaded)
    check_aliases(charters, [folder.name for folder in folders], diags)
    check_names(charters, diags)
    check_tree_links(root, "templates", diags)
    _check_pulls(root, site, charters, diags)
    return Project(root, site, charters, site_doc, catalogue), diags


def no_charters(root: Path) -> str:
    """Why the source folder `root` has no charters/ folder to read."""
    charters_dir = root / "charters"
    if loops(charters_dir):
        return f"charters/ is {LOOP}"
    if os.path.isfile(charters_dir):
        return "charters is a file, not a folder: put one folder per project in it"
    if charters_dir.is_dir():
        return "charters/ is a symbolic link that leaves the source folder; it is not read"
    return (
        "no charters/ folder: put one folder per project in charters/<id>/charter.yaml, or"
        " pass --source the folder that holds charters/"
    )


def _charter_folders(root: Path, diags: Diagnostics) -> list[Path]:
    """The folders under charters/ that are inside the tree and readable; others reported."""
    charters_dir = root / "charters"
    if not charters_dir.is_dir() or not inside(root, charters_dir):
        diags.error(SourceRef("charters"), "", no_charters(root), code="no-charters")
        return []
    try:
        # Listed with os.scandir: each entry's kind comes with the listing (a thousand
        # charters need no look at each folder but for the permission check).
        with os.scandir(charters_dir) as listing:
            entries = sorted((e for e in listing if e.name[:1] != "."), key=lambda e: e.name)
    except OSError as exc:
        diags.error(SourceRef("charters"), "", f"cannot read this folder: {exc.strerror or exc}")
        return []
    folders: list[Path] = []
    for listed in entries:
        entry, link = charters_dir / listed.name, listed.is_symlink()
        if not (entry.is_dir() if link else listed.is_dir(follow_symlinks=False)):
            if Path(listed.name).suffix.lower() in (".yaml", ".yml"):
                message = _not_a_charter_folder(charters_dir, listed.name)
                diags.error(SourceRef(_rel(root, entry)), "", message, code="not-a-folder")
            continue  # another file (a README) is left alone
        # charters/ is inside the tree, so a folder in it that is not a link is too.
        if link and not inside(root, entry):
            message = "charter folder is a symbolic link that leaves the source folder; not built"
            diags.error(SourceRef(_rel(root, entry)), "", message, code="outside-tree")
        elif not os.access(entry, os.R_OK | os.X_OK):
            message = "cannot read this folder (permission denied)"
            diags.error(SourceRef(_rel(root, entry)), "", message)
        else:
            folders.append(entry)
    return folders


def _not_a_charter_folder(charters_dir: Path, name: str) -> str:
    """What a located error says of a YAML file directly under charters/: a charter saved
    as `charters/routing.yaml` was left out without a word."""
    stem = Path(name).stem
    where = "into a folder of its own, as charters/<id>/charter.yaml"
    if re.fullmatch(m.ID_PATTERN, stem) and not os.path.lexists(charters_dir / stem):
        where = f"to charters/{stem}/charter.yaml"
    return (
        "a file, not a charter's folder: every charter is a folder charters/<id>/ holding its"
        f" charter.yaml, so this file is not read; move it {where}, or out of charters/"
    )


def check_tree_links(root: Path, folder: str, diags: Diagnostics) -> None:
    """Report every file or folder under `root/folder` that is a link leaving the tree.

    Templates and static files are published or run as the site's own code, so none
    may come from outside the source folder.
    """
    top = root / folder
    if not top.exists() and not top.is_symlink():
        return
    message = (
        "a symbolic link that leaves the source folder; templates and static files must be"
        " inside it"
    )
    if loops(top):
        diags.error(SourceRef(folder), "", LOOP, code="link-loop")
        return
    if not inside(root, top):
        diags.error(SourceRef(folder), "", message, code="outside-tree")
        return
    if not top.is_dir():  # every build would use the built-in templates without a word
        text = f"{folder} is a file, not a folder: put overrides in {folder}/, or remove it"
        diags.error(SourceRef(folder), "", text, code="not-a-folder")
        return
    for dirpath, dirnames, filenames in os.walk(top):
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            if loops(path):
                diags.error(SourceRef(_rel(root, path)), "", LOOP, code="link-loop")
            elif not inside(root, path):
                diags.error(SourceRef(_rel(root, path)), "", message, code="outside-tree")
            elif name.endswith(".html") and name in dirnames:
                text = "a folder, not a template: the built-in template of this name is used"
                diags.error(SourceRef(_rel(root, path)), "", text, code="not-a-file")
            elif name in filenames and not path.is_file():
                diags.error(SourceRef(_rel(root, path)), "", _not_regular(path), code="not-a-file")


def _not_regular(path: Path) -> str:
    """Why a file of templates/ that is not a regular one is refused: a build would skip it
    without a word (a template name falling back to the built-in one, a static file left
    out of the site)."""
    what = "not a regular file (a named pipe, a socket or a device)"
    if path.is_symlink() and not path.exists():
        what = "a broken symbolic link"
    return f"{what}: templates and static files must be regular files"


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def load_site(root: Path, diags: Diagnostics) -> tuple[m.SiteConfig, Document | None]:
    """site.yaml validated (the defaults when there is none), and its document."""
    path = root / "site.yaml"
    if not path.exists() and not loops(path):
        return m.SiteConfig(), None
    text = read_text(root, "site.yaml", diags, empty_ok=True)
    if text is not None and holds_no_yaml(text):
        return m.SiteConfig(), None  # every setting is optional: none written, all defaults
    doc = parse_yaml(text, "site.yaml", diags) if text is not None else None
    if doc is None:
        return m.SiteConfig(), None
    site = validate_model(m.SiteConfig, doc, diags, source=text)
    for name, conn in (site.connections if site is not None else {}).items():
        key = "url" if conn.url is not None else "mlflow"
        if written_password(conn.url or conn.mlflow or ""):
            message = secret_in_file(name, key)
            diags.add(doc.at(("connections", name, key), message, "secret-in-file"))
    if site is not None and m.DEFAULT_CONNECTION in site.connections:
        message = (
            f"{m.DEFAULT_CONNECTION!r} is the embedded DuckDB and cannot be redefined;"
            " name this connection differently"
        )
        diags.add(doc.at(("connections", m.DEFAULT_CONNECTION), message, "reserved-name", key=True))
    return (site or m.SiteConfig()), doc


def sql_leaves_folder(folder: Path, name: str) -> str | None:
    """Why the .sql file a pull entry names is not one of the charter's folder (it leaves
    it, by `..`, an absolute path or a link), else None. One rule for `check` and
    `charters pull` (pull/sql.py); a name written to leave is refused without looking
    (such a file would not be among the build's hashed inputs)."""
    message = f"{excerpt(name)} leaves the charter's folder"
    plain = PurePosixPath(posixpath.normpath(name))  # queries/../q.sql is q.sql
    if plain.is_absolute() or plain.parts[:1] == ("..",):
        return message
    try:
        return None if inside(folder, folder / name) else message
    except OSError:  # a name too long to look up: not found, as the caller says
        return None


def _sql_file_problem(folder: Path, name: str) -> tuple[str, str] | None:
    """Why `check` cannot find the .sql file a pull entry names (message, code), or None."""
    outside = sql_leaves_folder(folder, name)
    if outside is not None:
        return outside, "outside-folder"
    try:
        if (folder / name).is_file():
            return None
        if (folder / name).exists():  # a folder, a named pipe, a device
            return f"{excerpt(name)} is not a regular file; it is not read", "no-file"
    except OSError:  # a name too long to look up, a folder that cannot be read
        pass
    return f"no file {excerpt(name)} in the charter's folder", "no-file"


# The user and password of a SQLAlchemy URL, as SQLAlchemy's own URL pattern reads them.
_URL_CREDENTIALS = re.compile(r"[\w+]+://(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@")


# Query parameters of a URL that hold a secret (`?password=…` is read by most drivers).
SECRET_PARAMS = frozenset(
    {"password", "passwd", "pwd", "token", "access_token", "secret", "client_secret",
     "api_key", "apikey", "private_key", "private_key_passphrase", "private_key_file_pwd",
     "sslpassword", "credentials_base64", "credentials_info", "oauth_client_secret",
     "refresh_token", "id_token", "auth_token", "session_token", "sas_token"}
)  # fmt: skip


def secret_in_file(name: str, key: str, where: str = "") -> str:
    """What a connection whose `key` (url, mlflow) has a secret written in site.yaml is told;
    `where`, when given, is the place in site.yaml it is written (`charters pull`)."""
    what, example = ("URL", "WAREHOUSE_URL") if key == "url" else ("URI", "MLFLOW_TRACKING_URI")
    place = f" ({where})" if where else ""
    return (
        f"connection {name!r} has a password written in site.yaml{place}; put the {what}, or"
        f' its password, in an environment variable: {key}: "${{{example}}}"'
    )


def written_password(url: str) -> bool:
    """Whether a connection URL as written holds a password, in its user part or as a
    query parameter of `SECRET_PARAMS` (not a `${NAME}` from the environment): secrets
    come only from the environment (docs/pull.md), and `check` says so in the pull
    request, as `charters pull` refuses it."""
    found = _URL_CREDENTIALS.match(url)
    written = [found.group("password") if found else None]
    query = url.partition("?")[2].partition("#")[0]
    written += [
        v for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() in SECRET_PARAMS
    ]
    return any(w and "${" not in str(w) for w in written)


def connection_problem(site: m.SiteConfig, pull: m.Pull) -> str | None:
    """Why the connection a pull entry names cannot serve it, or None when it can."""
    name = pull.connection
    conn = site.connections.get(name)
    if name == m.DEFAULT_CONNECTION:
        conn = m.Connection(url="duckdb:///:memory:")
    if conn is None:
        declared = ", ".join([m.DEFAULT_CONNECTION, *site.connections])
        return f"unknown connection {name!r}; declared in site.yaml `connections`: {declared}"
    if (conn.mlflow is None) != (pull.mlflow is None):
        kind, use, other = (
            ("an MLflow tracking store", "mlflow", "sql")
            if conn.mlflow is not None
            else ("a SQL database", "sql", "mlflow")
        )
        return f"connection {name!r} is {kind}; use `{use}:` in this pull, not `{other}:`"
    return None


def _check_pulls(
    root: Path, site: m.SiteConfig, charters: list[LoadedCharter], diags: Diagnostics
) -> None:
    """Each `pull` entry names a connection of site.yaml of its kind (SQL or MLflow), writes
    a file the charter's `results` globs read, and names a .sql file that is there: a
    wrong entry is caught by `check` in the pull request that makes it, not at the next
    scheduled pull (which refuses the same)."""
    for loaded in charters:
        folder = (root / loaded.path).parent
        for i, entry in enumerate(loaded.outline.pull):
            problem = connection_problem(site, entry)
            if problem is not None:
                diags.add(loaded.doc.at(("pull", i, "connection"), problem, "unknown-connection"))
            globs = loaded.outline.results
            unread = unread_problem(entry.into, list(globs) if globs is not None else None)
            if unread is not None:
                diags.add(loaded.doc.at(("pull", i, "into"), unread, "into-not-read"))
            name = m.sql_file_name(entry.sql) if entry.sql is not None else None
            sql_problem = _sql_file_problem(folder, name) if name is not None else None
            if sql_problem is not None:
                diags.add(loaded.doc.at(("pull", i, "sql"), *sql_problem))
            for mid, message in unknown_pull_metrics(entry, loaded.outline.metric_ids):
                where = ("pull", i, "mlflow", "metrics", mid)
                diags.add(loaded.doc.at(where, message, "unknown-metric"))


def unknown_pull_metrics(entry: m.Pull, metric_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The keys of an MLflow pull's `metrics` that are no metric of its charter, with what
    to say of each (else every row the pull reads is refused, once a run)."""
    if entry.mlflow is None:
        return []
    declared = ", ".join(metric_ids) or "none"
    return [
        (
            mid,
            f"{excerpt(mid)} is not a metric of this charter (its metrics: {declared}); each"
            " key of mlflow.metrics is the id of the metric its rows are results of",
        )
        for mid in entry.mlflow.metrics
        if mid not in metric_ids
    ]


def _load_charter(
    root: Path,
    folder: Path,
    diags: Diagnostics,
    today: date,
    catalogue: Catalogue,
    rows: ResultTable | None = None,
) -> LoadedCharter | None:
    cid = folder.name
    folder_rel = _rel(root, folder)
    ok = True
    if not re.fullmatch(m.ID_PATTERN, cid):  # `$` alone would let a final newline pass
        diags.error(
            SourceRef(folder_rel),
            "",
            f"folder name '{printable(cid)}' is not a valid charter id: use lowercase letters,"
            " digits and '-', starting with a letter or digit, at most 63 characters"
            f" ({m.ID_PATTERN})",
            code="invalid-id",
        )
        ok = False
    yaml_path = folder / "charter.yaml"
    rel = _rel(root, yaml_path)
    if loops(yaml_path):
        diags.error(SourceRef(rel), "", f"file is {LOOP}", code="link-loop")
        return None
    if not yaml_path.is_file() and not os.path.lexists(yaml_path):
        other = [p.name for p in (folder / "charter.yml",) if p.exists()]
        hint = " (rename charter.yml to charter.yaml)" if other else ""
        diags.error(
            SourceRef(folder_rel),
            "",
            f"folder has no charter.yaml{hint}; every folder under charters/ is a project",
            code="missing-charter",
        )
        return None
    text = read_text(root, rel, diags)
    if text is None:
        return None
    doc = parse_yaml(text, rel, diags)
    if doc is None:
        return None
    before = len(diags.errors)
    doc = resolve_refs(doc, catalogue, diags)
    charter = validate_model(m.Charter, doc, diags, source=text)
    if charter is not None:
        _check_hidden_words(charter, doc, diags)
        _check_markdown_shown(charter, doc, diags)
        _check_other_hosts(charter, doc, diags)
    metrics = check_references(doc, diags)
    _check_agreement_dates(doc, today, diags)
    _check_target_dates(doc, diags)
    _check_linked_files(folder, doc, diags)
    if not isinstance(doc.data, dict):  # no metrics declared: every row would be refused
        return None
    results = load_results(root, folder, doc, metrics, diags, today) if rows is None else rows
    if charter is None or not ok or len(diags.errors) > before:
        return None
    return LoadedCharter(cid, rel, charter, doc, results)


def _check_hidden_words(charter: m.Charter, doc: Document, diags: Diagnostics) -> None:
    """Markdown whose page would not show some of its words: the sanitiser removes raw
    HTML it does not allow with what is inside it, and an unclosed `<style>` took the
    rest of a summary with it, without a word (`markup.hidden_words`). A warning; when
    the page would show nothing of the field at all (`statement: <style>…</style>`), an
    error (`shows-nothing`), as any Markdown field that shows nothing is."""
    texts = [(path, text) for path, text in m.markdown_texts(charter) if "<" in text]
    if not texts:
        return
    from .markup import hidden_words, shows_nothing  # Markdown and the sanitiser: when needed

    for path, text in texts:
        lost = hidden_words(text)
        if not lost:
            continue
        words = " ".join(lost[:8]) + (" …" if len(lost) > 8 else "")
        why = (
            "raw HTML such as <style>, <script> or MathML is removed with the text inside"
            " it (an unclosed <style> takes the rest of the text); write the words outside"
            " such tags, or put the HTML in backticks to show it as code"
        )
        if shows_nothing(text):
            message = f"the page would show nothing of {excerpt(text)} ({excerpt(words)}):"
            diags.add(doc.at(path, f"{message} {why}", "shows-nothing"))
        else:
            message = f"the page would not show {excerpt(words)}: {why}"
            diags.add(doc.at(path, message, "html-removed", "warning"))


# A Markdown text that may show nothing on its page though it is not blank: it holds HTML,
# a character reference, an image, a link without text (`[](x)`), a link definition
# (`[ref]: url`) or a fenced code block, or no letter or digit at all (`---`, `###`, `>`).
_MAY_SHOW_NOTHING = re.compile(
    r"[<&]|!\[|\[\s*\]\(|^ {0,3}\[[^\]]*\]:|^ {0,3}(?:```|~~~)|\A[\W_]*\Z", re.M
)


def _check_markdown_shown(charter: m.Charter, doc: Document, diags: Diagnostics) -> None:
    """A Markdown field whose page shows nothing (`markup.shows_nothing`) is an error, as
    a blank one is: `statement: <!-- TODO -->` left the objective empty on the page. One
    whose words the sanitiser takes out (`<script>…</script>`) is told so by
    `_check_hidden_words`, one message."""
    texts = [(path, t) for path, t in m.markdown_texts(charter) if _MAY_SHOW_NOTHING.search(t)]
    if not texts:
        return
    from .markup import hidden_words, removed_images, shows_nothing  # only when needed

    for path, text in texts:
        if shows_nothing(text) and not hidden_words(text):
            message = (
                f"the page would show nothing of {excerpt(text)} (comments, line breaks,"
                " rules, non-breaking spaces, images, empty code blocks and link definitions"
                " show no text); write it out, or leave the field out where it may be"
            )
            diags.add(doc.at(path, message, "shows-nothing"))
        elif images := removed_images(text):
            names = ", ".join(excerpt(name) for name in images[:3])
            message = (
                f"the page would not show the image {names}: pages show no images from"
                " charter text, nor their alt text; link to the file instead, as in"
                " [Flow chart](flow.png)"
            )
            diags.add(doc.at(path, message, "html-removed", "warning"))


def _check_other_hosts(charter: m.Charter, doc: Document, diags: Diagnostics) -> None:
    """A Markdown link to another host without a scheme (`//evil.example/a`, or with
    backslashes), which the `links` field refuses: the page drops its address
    (`markup.host_relative`), so the words show without their link; a warning."""
    texts = [(path, t) for path, t in m.markdown_texts(charter) if "//" in t or "\\" in t]
    if not texts:
        return
    from .markup import removed_links  # Markdown and the sanitiser: only when needed

    for path, text in texts:
        for href in removed_links(text):
            message = (
                f"the link {excerpt(href)} names a host without a scheme (a browser takes"
                " it to that host, or from a site opened from disk to a network share); the"
                " page shows its words without the link: write the whole address, https://…"
            )
            diags.add(doc.at(path, message, "link-target", "warning"))


def _check_agreement_dates(doc: Document, today: date, diags: Diagnostics) -> None:
    """No metric is agreed on a date after the build date: `agreed.on: 2099-01-01` would
    pass as the re-agreement of any later change of the metric (`charters diff`). Nor is
    a baseline measured after it (`_past_dates`)."""
    for _, path in m.METRIC_LISTS:
        for i, item in m.items_at(doc.data, *path):
            _check_agreement_date(doc, (*path, i), item, today, diags)
    for where, day, what in _past_dates(doc.data):
        if today < day <= m.LAST_DATE:  # a later one is out of range: the model says so
            message = (
                f"{day.isoformat()} is after the build date, {today.isoformat()}; {what}"
                " cannot be dated later than the build (--today, else SOURCE_DATE_EPOCH,"
                " else today)"
            )
            diags.add(doc.at(where, message, "future-date"))


def _check_target_dates(doc: Document, diags: Diagnostics) -> None:
    """A business metric's target is to be met by its `target.by`, after its baseline was
    measured (`baseline.as_of`): a target dated before its baseline was taken as written,
    a deadline passed before the project's starting point was known."""
    for i, item in m.items_at(doc.data, "business_metrics"):
        baseline, target = item.get("baseline"), item.get("target")
        if not isinstance(baseline, dict) or not isinstance(target, dict):
            continue
        measured, due = _day(baseline.get("as_of")), _day(target.get("by"))
        if measured is not None and due is not None and due < measured:
            message = (
                f"{due.isoformat()} is before the baseline's as_of, {measured.isoformat()}:"
                " a target is met by its 'by' date, after the baseline it moves from was"
                f" measured; write a date from {measured.isoformat()} on, or correct"
                " baseline.as_of"
            )
            diags.add(doc.at(("business_metrics", i, "target", "by"), message, "invalid-value"))


def _past_dates(data: Any) -> Iterator[tuple[FieldPath, date, str]]:
    """The dates of what has been measured by the build: each metric's `baseline.as_of`
    (a baseline measured in 2027 passed as the one results are held against), with
    where each is written. (A decision may be logged ahead of its date: a planned review.)"""
    for _, path in m.METRIC_LISTS:
        for i, item in m.items_at(data, *path):
            baseline = item.get("baseline")
            day = _day(baseline.get("as_of")) if isinstance(baseline, dict) else None
            if day is not None:
                yield (*path, i, "baseline", "as_of"), day, "a baseline"


def _day(value: Any) -> date | None:
    """`value` as a date without a time, as the model takes one; else None (the model
    says what is wrong with it)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) and not isinstance(value, datetime) else None


def dated_until(loaded: LoadedCharter) -> int:
    """The day number of the latest date that loading `loaded` held against the build
    date: its newest result row's and its metrics' latest `agreed.on` and
    `baseline.as_of` (0 with none).

    The load reads the build date only to refuse a row, an agreement or a baseline
    dated after it, as an error, and the analysis does not read it (the rules do, and
    the pages, which are keyed by it). So a charter that loaded without an error on one
    day loads and is analysed the same, to the byte, on any day from this one on: the
    cache keeps it by its content, not by the day (reuse.Reuse.load), and a build dated
    earlier loads it anew, and refuses it."""
    days = [d.toordinal() for _, path in m.METRIC_LISTS for d in _agreed_dates(loaded, path)]
    days += [day.toordinal() for _, day, _ in _past_dates(loaded.doc.data)]
    if len(loaded.results):
        days.append(max(loaded.results.ordinals()))
    return max(days, default=0)


def _agreed_dates(loaded: LoadedCharter, path: tuple[str, ...]) -> list[date]:
    found = (_agreed_on(item) for _, item in m.items_at(loaded.doc.data, *path))
    return [day for day in found if day is not None]


def _agreed_on(item: dict[str, Any]) -> date | None:
    """The `agreed.on` of the metric `item` as the build date is held against it: a date
    without a time (the model refuses any other value)."""
    agreed = item.get("agreed")
    # A date with a time is refused by the model ("without a time"), not compared.
    return _day(agreed.get("on")) if isinstance(agreed, dict) else None


def _check_agreement_date(
    doc: Document, at: tuple[str | int, ...], item: dict[str, Any], today: date, diags: Diagnostics
) -> None:
    """The `agreed.on` of the metric `item` (at `at` in `doc`) is not after `today`."""
    day = _agreed_on(item)
    if day is not None and today < day <= m.LAST_DATE:  # later: out of range (the model)
        message = (
            f"{day.isoformat()} is after the build date, {today.isoformat()}; an"
            " agreement cannot be dated later than the build (--today, else"
            " SOURCE_DATE_EPOCH, else today)"
        )
        diags.add(doc.at((*at, "agreed", "on"), message, "future-date"))


def _check_linked_files(folder: Path, doc: Document, diags: Diagnostics) -> None:
    """A relative link must not reach a file outside the charter's folder through a link."""
    for i, link in m.items_at(doc.data, "links"):
        url = link.get("url")
        if not isinstance(url, str) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url):
            continue  # not relative (a URL the model refuses included: no urlsplit here)
        rel = requested(url)  # as links.py looks it up: the name a server is asked for
        target = folder / posixpath.normpath(rel) if rel else folder
        # os.path: a name too long to look up is nothing there, not an internal error
        if rel and posixpath.normpath(rel).split("/")[0] == "..":
            continue  # written so, not through a link: the model refuses it
        if rel and os.path.lexists(target) and not inside(folder, target):
            message = (
                f"{excerpt(url)} leads outside the charter's folder (through a symbolic"
                " link); only files inside it are published"
            )
            diags.add(doc.at(("links", i, "url"), message, "outside-tree"))


# --- cross-field rules -----------------------------------------------------------------
# These read the raw data, not the model, so they still report when another part of
# the same charter failed validation: one run shows every problem.


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_references(doc: Document, diags: Diagnostics) -> list[str]:
    """Check what relates one field to another; return the declared metric ids."""
    data = doc.data if isinstance(doc.data, dict) else {}
    declared = _declared_metrics(data, doc, diags)
    # With a metric whose id cannot be read, an id not declared may be that metric's: its
    # references are not reported (each would repeat the id's own error).
    unnamed = m.unnamed_metric(data)
    _check_drives(data, declared, doc, diags, unnamed)
    _check_metric_references(data, list(declared), doc, diags, unnamed)
    _check_relative_effect(data, doc, diags)
    _check_human_baseline_required(data, doc, diags)
    _check_goal_values(data, list(declared), doc, diags)
    return list(declared)


def _check_goal_values(
    data: dict[str, Any], declared: list[str], doc: Document, diags: Diagnostics
) -> None:
    """Baselines, targets and the human baseline's results keep the rules a result row keeps.

    A target of 120 for a metric in `%`, or outside the metric's own `range`, could never be
    met (or never missed); it is refused where it is written, as a row would be.
    """
    bounds = metric_bounds(data, declared)
    values: list[tuple[FieldPath, str, Any]] = []
    for _, path in m.METRIC_LISTS:
        for i, item in m.items_at(data, *path):
            mid = _str(item.get("id"))
            for goal in ("baseline", "target"):
                held = item.get(goal)
                if mid is not None and isinstance(held, dict):
                    values.append(((*path, i, goal, "value"), mid, held.get("value")))
    for i, result in m.items_at(data, "human_baseline", "results"):
        mid = _str(result.get("metric"))
        if mid is not None:
            values.append((("human_baseline", "results", i, "value"), mid, result.get("value")))
    for where, mid, value in values:
        # A value that is not a finite number is the model's to report (`finite` also
        # turns away an integer too large for a float).
        number = finite(value) if isinstance(value, (int, float)) else None
        if isinstance(value, bool) or number is None or mid not in bounds:
            continue
        problem = outside_bounds(number, bounds[mid])
        if problem is not None:
            diags.add(doc.at(where, problem, "out-of-range"))


def _declared_metrics(
    data: dict[str, Any], doc: Document, diags: Diagnostics
) -> dict[str, tuple[m.MetricKind, FieldPath]]:
    """Every metric id with its kind and where it is first declared; repeats reported."""
    declared: dict[str, tuple[m.MetricKind, FieldPath]] = {}
    for kind, path in m.METRIC_LISTS:
        for i, item in m.items_at(data, *path):
            mid = _str(item.get("id"))
            if mid is None:
                continue
            where: FieldPath = (*path, i, "id")
            if mid not in declared:
                declared[mid] = (kind, where)
                continue
            first = declared[mid][1]
            message = (
                f"duplicate metric id {excerpt(mid)} (first declared at {format_path(first)},"
                f" line {doc.ref(first).line}); metric ids are unique across business, ML"
                " and guardrail metrics"
            )
            diags.add(doc.at(where, message, "duplicate-id"))
    return declared


def _check_drives(
    data: dict[str, Any],
    declared: dict[str, tuple[m.MetricKind, FieldPath]],
    doc: Document,
    diags: Diagnostics,
    unnamed: bool,
) -> None:
    """Each id in an ML metric's `drives` names a business metric of the charter (an id
    not declared is not reported when `unnamed`: see `check_references`)."""
    business = [mid for mid, (kind, _) in declared.items() if kind == "business"]
    for i, ml in m.items_at(data, "ml_metrics"):
        drives = ml.get("drives")
        named: set[str] = set()
        for j, target in enumerate(drives if isinstance(drives, list) else []):
            if isinstance(target, str) and target in named:
                message = f"{excerpt(target)} is named twice; name each business metric once"
                diags.add(doc.at(("ml_metrics", i, "drives", j), message, "duplicate-id"))
                continue
            if isinstance(target, str):
                named.add(target)
            if not isinstance(target, str) or target in business:
                continue
            if target not in declared and unnamed:
                continue
            what = "is not a business metric" if target in declared else "is not a metric"
            listed = ", ".join(business) or "none"
            message = f"{excerpt(target)} {what} of this charter (business metrics: {listed})"
            diags.add(doc.at(("ml_metrics", i, "drives", j), message, "unknown-metric"))


def _check_metric_references(
    data: dict[str, Any], declared: list[str], doc: Document, diags: Diagnostics, unnamed: bool
) -> None:
    """The minimum detectable effect and the human baseline's results name declared metrics
    (not reported when `unnamed`: see `check_references`), each of the latter once."""
    references: list[tuple[FieldPath, Any]] = []
    measurement = data.get("measurement")
    mde = measurement.get("minimum_detectable_effect") if isinstance(measurement, dict) else None
    if isinstance(mde, dict):
        references.append(
            (("measurement", "minimum_detectable_effect", "metric"), mde.get("metric"))
        )
    first: dict[str, FieldPath] = {}
    for i, result in m.items_at(data, "human_baseline", "results"):
        where: FieldPath = ("human_baseline", "results", i, "metric")
        mid = result.get("metric")
        references.append((where, mid))
        if not isinstance(mid, str):
            continue
        if mid in first:
            # Two values of one metric: the page would show one and hide the other.
            message = (
                f"{excerpt(mid)} is listed twice (first at line {doc.ref(first[mid]).line});"
                " give each metric one value reached by hand"
            )
            diags.add(doc.at(where, message, "duplicate-id"))
        first.setdefault(mid, where)
    for where, mid in references:
        if isinstance(mid, str) and mid not in declared and not unnamed:
            diags.add(doc.at(where, not_declared(mid, declared), "unknown-metric"))


def _check_relative_effect(data: dict[str, Any], doc: Document, diags: Diagnostics) -> None:
    """A relative minimum detectable effect is a share of its metric's baseline: of a
    baseline of 0 it is 0, and any move at all would count as the effect."""
    measurement = data.get("measurement")
    mde = measurement.get("minimum_detectable_effect") if isinstance(measurement, dict) else None
    if not isinstance(mde, dict) or mde.get("relative") is None:
        return
    mid = mde.get("metric")
    for _, path in m.METRIC_LISTS:
        for _, item in m.items_at(data, *path):
            if item.get("id") != mid:
                continue
            baseline = item.get("baseline")
            value = baseline.get("value") if isinstance(baseline, dict) else None
            if value == 0 and not isinstance(value, bool):
                message = (
                    f"a relative effect is a share of the baseline, and the baseline of"
                    f" {excerpt(mid)} is 0; give the effect as 'absolute', in the metric's unit"
                )
                where = ("measurement", "minimum_detectable_effect", "relative")
                diags.add(doc.at(where, message, "out-of-range"))
            return


def _check_human_baseline_required(data: dict[str, Any], doc: Document, diags: Diagnostics) -> None:
    """A human baseline (a study, or a waiver) is required once status is past `proposed`."""
    status = data.get("status")
    if data.get("human_baseline") is None and status in STATUSES and past(status, "proposed"):
        diags.error(
            doc.ref(("status",)),
            "human_baseline",
            "a human baseline (a study, or 'waived: <reason>') is required once status is past"
            f" 'proposed' (status is {excerpt(status)})",
            code="missing-field",
        )
