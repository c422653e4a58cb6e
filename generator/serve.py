"""Commands, `charters serve`: build into a temporary folder, serve it, rebuild on change.

Changes come from the operating system's file notifications through `watchfiles`
(inotify, FSEvents, ReadDirectoryChangesW; polling only where none of them
works), so a server left idle does no work. Every build gets a token, except one that
changed nothing after a build that succeeded (it keeps that one's). Pages built
while serving carry the live-reload script with a fixed placeholder
(`live_reload` in the templates), which the server replaces with the token of the
build it serves as it sends each page; the small `/__charters__/livereload.js`
reloads the page when `/__charters__/version` answers another token: asked with
`?after=<the page's token>`, the server holds the answer until a build ends (or
`LONG_POLL_SECONDS` pass), so the page learns of it at once. One tab per browser
asks (the others hear from it), so open tabs do not use up the browser's few
connections to the server. The files
on disk never hold a token, so a rebuild after a save reuses every page of an
unchanged charter from the cache like any build (generator/reuse.py).

A build that fails keeps the server running: the located problems go to the
terminal and every page shows them until a later build succeeds.

Pages carry the Content-Security-Policy docs/hosting.md recommends, report-only:
what a host sending it would block (an inline script a template added, say) is
reported by the browser to `/__charters__/csp` and printed once as a warning.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import html
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import watchfiles
from watchfiles import Change
from watchfiles.main import FileChange

from .assets import BUILTIN_TEMPLATES
from .catalogue import CATALOGUE_FILE
from .diagnostics import InputError, has_control_characters, printable, today_from_env
from .formatting import plural
from .paths import real as real_path

if TYPE_CHECKING:
    from .build import BuildResult
    from .progress import Report
    from .reuse import Kept

SPECIAL = "/__charters__/"
LIVERELOAD_JS = Path(__file__).parent / "livereload.js"
# What pages built while serving carry in place of the build token (see the docstring).
PLACEHOLDER = "serve"
# Seconds a page request waits at most for a build writing the folder to finish.
WRITE_WAIT = 10.0
_MARK = f'data-build="{PLACEHOLDER}"'.encode()
WATCHED_DIRS = ("charters", "templates")
WATCHED_FILES = ("site.yaml", CATALOGUE_FILE)
# Files git reads for the history the pages show: the authors' names (`.mailmap`) and
# which new files count as uncommitted changes (`.gitignore`, at the top or in charters/).
GIT_FILES = (".mailmap", ".gitignore")

Echo = Callable[..., None]
# At most this long a page's question for a new build is held (then answered with the
# same token, and asked again): short enough for any proxy or browser to wait it out.
LONG_POLL_SECONDS = 25.0
# At most this long to wait for the watch to be set up before announcing the address.
WATCH_SETUP_SECONDS = 30.0
UNFREEZE_EVERY = 50  # builds between full passes of the cyclic garbage collector (_settle)
# Milliseconds without another change after which the watch yields a burst of changes:
# an editor's save in several steps (truncate and write, or write a copy and rename it)
# takes a few, and a save waits this long, and up to twice it, before its build starts
# (50 ms, watchfiles' own, cost 70 ms more a save).
WATCH_QUIET_MS = 20
# The policy docs/hosting.md recommends, sent with every page of the preview as report-only:
# the browser applies nothing, but tells the server what a host sending it would block
# (an inline script or style a template added, say), and the server says so once.
POLICY = "default-src 'self'"
POLICY_REPORTS = "csp"  # under SPECIAL: where the browser sends what it would block
REPORT_BYTES = 64 * 1024  # a report is a few hundred bytes; a longer body is not read
MAX_POLICY_WARNINGS = 20  # distinct warnings a server prints, so a page cannot flood it


def _default_echo(message: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    print(message, file=stream, flush=True)


# ---------------------------------------------------------------------------
# Watching


@dataclass(frozen=True)
class SourceFilter:
    """Which changed paths are inputs of the build: `site.yaml`, `metrics.yaml` and everything under
    `charters/` (charters and their result files) and `templates/`, less editor droppings
    (a hidden file of `templates/static/` is a static file); `.mailmap` and `.gitignore`,
    which change the history the pages show; and, in the repository's `git` folders, what
    moves its head (`HEAD`, the branches under `refs/`, `packed-refs`): a commit or a
    checkout changes the charters' history.

    The project's `site/` and every other folder of the source tree are not inputs.
    """

    root: Path
    git: tuple[Path, ...] = ()  # spelled as the watcher reports them (see `watched`)

    @classmethod
    def of(cls, root: Path) -> SourceFilter:
        """The filter of the source folder `root` and of the repository around it."""
        from .gitrepo import folders

        real = real_path(root)
        spelled = []
        for folder in folders(root):
            # A git folder inside the source folder is reported under the root as given.
            inside = folder.is_relative_to(real)
            spelled.append(root / folder.relative_to(real) if inside else folder)
        return cls(root, tuple(spelled))

    @property
    def watched(self) -> list[Path]:
        """The folders to watch: the source folder and the git folders outside it."""
        return [self.root, *(g for g in self.git if not g.is_relative_to(self.root))]

    def relative(self, path: str) -> PurePosixPath | None:
        """`path` relative to the source root, or None when it lies outside it."""
        try:
            return PurePosixPath(Path(path).relative_to(self.root).as_posix())
        except ValueError:
            return None

    def in_git(self, path: str) -> bool | None:
        """Whether `path`, in a git folder, moves the repository's head; None when it is not
        in one."""
        for folder in self.git:
            try:
                parts = Path(path).relative_to(folder).parts
            except ValueError:
                continue
            if not parts or parts[-1].endswith(".lock"):
                return False
            return parts in (("HEAD",), ("packed-refs",)) or parts[0] == "refs"
        return None

    def __call__(self, change: Change, path: str) -> bool:
        git = self.in_git(path)
        if git is not None:
            return git
        rel = self.relative(path)
        if rel is None or not rel.parts:
            return False
        if rel.name in GIT_FILES and (len(rel.parts) == 1 or rel.parts[0] == "charters"):
            return True
        if any(_hidden_folder(part) for part in rel.parts[:-1]):
            return False
        if _ignored(rel.name) and not _published(rel):
            return False
        if rel.name.isdigit() and len(rel.parts) > 2:
            # vim's probe that the folder is writable (4913, 5036, …), in the folder of the
            # file it saves; `charters/2024` is a charter's folder
            return False
        return rel.parts[0] in WATCHED_DIRS or str(rel) in WATCHED_FILES


def _published(rel: PurePosixPath) -> bool:
    """A hidden file of `templates/static/` (`.htaccess`) that is no editor's: the build
    copies it into the site like any other static file."""
    name = rel.name
    return (
        rel.parts[:2] == ("templates", "static")
        and len(rel.parts) == 3
        and name.startswith(".")
        and not name.startswith(".#")
        and not name.endswith(("~", ".swp", ".swx", ".tmp"))
    )


def _ignored(name: str) -> bool:
    """Editor droppings and caches: emacs' `.#x` locks and `#x#` autosaves, backups (`x~`),
    vim's swap files (`.x.swp`), temporary files, `__pycache__`. Other names that start
    with `.` or `#` may be files the build reads (a result file `#late.csv` that
    `results/*.csv` reads, a linked `.notes.txt`): a save of one went unbuilt."""
    return (
        name.startswith(".#")
        or (len(name) > 1 and name.startswith("#") and name.endswith("#"))
        or name.endswith(("~", ".swp", ".swx", ".tmp"))
        or name == "__pycache__"
    )


def _hidden_folder(name: str) -> bool:
    """A folder whose files the build never reads (a results glob's `**` skips hidden
    folders): `.git`, `.ipynb_checkpoints`, and `__pycache__`."""
    return name.startswith(".") or _ignored(name)


# ---------------------------------------------------------------------------
# Building


@dataclass
class SiteState:
    """What the server shows: the newest build token and, after a failed build, why.

    `charters build --watch` builds with one too (`watching` set): into the user's output
    folder, written in place as the server writes its own (`write.write_in_place`: only
    what changed, each file by one rename), its pages without the live-reload script,
    each build reported as `charters build` reports it. The server's check that its own
    folder still holds its manifest (`_own_folder_whole`) is not made there: that folder
    is the user's, and is never emptied."""

    source: Path
    out: Path
    echo: Echo = _default_echo
    watching: bool = False  # `charters build --watch`, not `charters serve`
    quiet: bool = False  # `build --watch --quiet`: no progress bar and no summary lines
    token: str = ""
    errors: list[str] | None = None
    cache_dir: Path | None = None  # the build cache (generator/cache.py); None: the default
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    kept: Kept | None = None  # each charter as loaded and analysed, kept between builds
    _settled: int = 0  # builds since the cyclic garbage collector last looked at everything
    _nonce: str = field(default_factory=lambda: secrets.token_hex(4))
    _count: int = 0
    # Notified when a build ends (a new token) and when the server stops: what the
    # pages waiting for a new build (`token_after`) wait on.
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _closing: bool = False
    _warned: set[str] = field(default_factory=set)  # the policy's warnings printed (warn_once)
    _writing: bool = False  # a build is writing the folder; its token is not given yet
    unchanged: bool = False  # the last build was a no-op (it loaded no charter)
    refused: bool = False  # the last build's folders could not be used (an OutputError)
    cut_short: bool = False  # a build was interrupted (Ctrl-C) in the thread that ran it
    # The date each build judges by (staleness, days since): today's, or SOURCE_DATE_EPOCH's.
    # `watch` builds again when it is no longer the date of the last build (`day`), so a
    # page left open past midnight does not show yesterday's figures until the next save.
    clock: Callable[[], date] = field(default=functools.partial(today_from_env, None))
    day: date | None = None

    def _own_folder_whole(self) -> None:
        """The server's own site folder, whose manifest was removed (a cleaner of the
        temporary folder took its files, or that one), is emptied: a build refused it as
        a folder charters did not write, every build after until the server restarted,
        and every page answered 500 (review). A folder of the server's, not the user's."""
        from .write import MANIFEST

        out = self.out
        if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
            shutil.rmtree(out, ignore_errors=True)
            if self.kept is not None:
                self.kept.site = None  # nothing of it is as the last build wrote it

    def rebuild(self, whole: bool = False) -> bool:
        """Build once; on failure keep the last good site and record the problems. With
        `whole`, an unchanged tree is built too (not a no-op), to fill `kept`; such a
        build that succeeds says nothing (the no-op before it said it all)."""
        from .build import Settings, build
        from .reuse import Kept
        from .write import OutputError

        errors: list[str] | None = None
        unchanged = False
        with self.build_lock:
            if self._closing:  # the server is stopping: no build begins now
                return False
            try:
                if self.kept is None:
                    self.kept = Kept()
                self.day = self.clock()
                if not self.watching:
                    self._own_folder_whole()
                with self._progress() as progress:
                    result = build(
                        Settings(
                            self.source,
                            self.out,
                            live_reload=not self.watching and PLACEHOLDER,
                            today=self.day,
                            # Another build writing the folder (a `charters build` run
                            # by hand): the watch's waits for it, so no edit goes unbuilt.
                            wait=self.watching,
                            cache_dir=self.cache_dir,
                            kept=self.kept,
                            in_place=True,
                            whole=whole,
                        ),
                        progress,
                    )
                self._settle()
            except (OutputError, InputError) as exc:
                errors = [f"error: {printable(str(exc))}"]
                self.refused = isinstance(exc, OutputError)
            except Exception as exc:  # a bug must not stop the server
                errors = [f"error: internal error: {type(exc).__name__}: {printable(str(exc))}"]
            except BaseException:  # Ctrl-C (KeyboardInterrupt), in the thread that builds
                self.cut_short = True
                raise
            else:
                errors = None if whole and result.ok else self._report(result)
                unchanged = result.ok and (result.unchanged or whole)
                self.unchanged = result.ok and result.unchanged
            if errors:
                for line in errors:
                    self.echo(line, err=True)
                self.echo(self._failed(len(errors), self._writing), err=True)
            with self._changed:
                # A build that changed nothing after one that succeeded (a commit's last
                # writes to .git/ after the build they started, say) keeps the token: the
                # open pages show that site already and are not reloaded.
                if not (unchanged and self.errors is None and self.token):
                    self._count += 1
                    self.token = f"{self._nonce}-{self._count}"
                self.errors = errors
                self._writing = False
                self._changed.notify_all()
        return errors is None

    def first_build(self) -> None:
        """`build --watch`'s first build, and after a no-op a build of the same tree that
        loads every charter into `kept` and changes no file (the manifest is written again
        with the same bytes): a no-op loads none, and the
        first edit would read every one back from the cache (1.2 s at 1,000 charters, the
        next edits 0.6 s). "Watching" is said between the two: the site is up to date."""
        self.rebuild()
        if self.refused:  # the folders cannot be used: `build_and_watch` ends
            return
        self.note(f"Watching {self.source} for changes (Ctrl-C to stop)")
        if self.unchanged:
            self.rebuild(whole=True)

    def note(self, message: str) -> None:
        """Say what the watch does (a change seen, a rebuild begun), unless `quiet`."""
        if not self.quiet:
            self.echo(message)

    @contextlib.contextmanager
    def _progress(self) -> Iterator[Report]:
        """What hears of the build's stages: the note of when the build writes the folder
        (`_writes`); for `build --watch`, also the progress bar `charters build` shows."""
        if not self.watching:
            yield self._writes
            return
        from .progress import Progress

        with Progress(quiet=self.quiet) as bar:

            def both(stage: str, done: int, total: int, item: str) -> None:
                self._writes(stage, done, total, item)
                bar(stage, done, total, item)

            yield both

    def _report(self, result: BuildResult) -> list[str] | None:
        """Print what a build that ran says besides its errors, as `charters build` prints
        it for `build --watch`; return its errors, None when it succeeded."""
        for d in result.diagnostics:
            if d.severity != "error":
                self.echo(f"{d.severity}: {d.format_text()}", err=True)
        if not result.ok:
            return [d.format_text() for d in result.diagnostics if d.severity == "error"]
        if not self.watching:
            self.echo(printable(result.summary()))
            return None
        for line in result.left:
            self.echo(f"warning: {printable(line)}", err=True)
        if not self.quiet:
            self.echo(printable(result.summary(self.out)))
        if (rule_errors := result.rule_errors_note()) is not None:
            self.echo(rule_errors, err=True)
        return None

    def _failed(self, count: int, writing: bool) -> str:
        """The line after a failed build's problems; `writing`: it failed as it wrote
        the folder (a full disk), which it writes in place."""
        if not self.watching:
            return (
                f"{plural(count, 'problem')} found; the open pages show"
                " them. Still serving; save a fix to rebuild."
            )
        out = printable(str(self.out))
        if writing:
            what = (
                f"the build stopped as it wrote {out}: some of its files are new and some"
                " old until a build succeeds"
            )
        else:
            what = f"nothing was written ({out} is unchanged)"
        return f"{plural(count, 'problem')} found; {what}. Still watching; a save rebuilds."

    def new_day(self) -> date | None:
        """The date builds now judge by, when it is not the last build's; else None."""
        try:
            today = self.clock()
        except InputError:  # a SOURCE_DATE_EPOCH set wrong since: the next build says so
            return None
        return today if self.day is not None and today != self.day else None

    def _writes(self, stage: str, done: int, total: int, item: str) -> None:
        """The build's progress: from its "Writing" stage until its token is given
        (`rebuild`), pages wait (`read_page`)."""
        if stage == "Writing":
            with self._changed:
                self._writing = True

    def read_page(self, file: Path | None) -> tuple[bytes | None, str, list[str] | None]:
        """A page's file (None without one), the token to serve it with and the last
        build's problems (None when it succeeded), read together while no build is writing
        the folder. A page read while a build wrote its new content in place used to carry
        the previous build's token, so the open page reloaded once more for nothing; and
        the last good page, read as a build that failed ended, carried that build's token,
        so the open page showed neither the problems nor a reload until the next build."""
        with self._changed:
            self._changed.wait_for(lambda: not self._writing or self._closing, WRITE_WAIT)
            if self.errors is not None or file is None:
                return None, self.token, self.errors
            return file.read_bytes(), self.token, None

    def warn_once(self, warning: str) -> None:
        """Print a warning the first time it comes (a page reports what the policy would
        block on every load), and at most `MAX_POLICY_WARNINGS` different ones."""
        with self._changed:
            if warning in self._warned or len(self._warned) > MAX_POLICY_WARNINGS:
                return
            self._warned.add(warning)
            full = len(self._warned) > MAX_POLICY_WARNINGS
        if full:
            self.echo("warning: more of the policy's reports are not shown.", err=True)
        else:
            self.echo(f"warning: {warning}", err=True)

    def token_after(self, seen: str, timeout: float) -> str:
        """The newest build's token once it is not `seen` (the asking page's own), or
        after `timeout` seconds, or when the server stops: a page's long poll."""
        with self._changed:
            self._changed.wait_for(lambda: self.token != seen or self._closing, timeout)
            return self.token

    def close(self) -> None:
        """Answer every page waiting in `token_after` now: the server is stopping."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()

    def _settle(self) -> None:
        """Collect the build's garbage, then exempt what is still alive (the kept charters,
        the imported modules) from the cyclic garbage collector's later passes.

        Each full pass of the collector would walk every object of every kept charter,
        some 0.3 s at a thousand charters, and a build triggers several. Frozen objects are
        still freed by reference counting when dropped (a kept charter replaced by its
        edit, say); only a reference cycle among them would stay, so every
        `UNFREEZE_EVERY` builds the collector looks at everything again.
        """
        self._settled += 1
        if self._settled >= UNFREEZE_EVERY:
            gc.unfreeze()
            self._settled = 0
        gc.collect()
        gc.freeze()
        if self.kept is not None:
            self.kept.collector_managed = True


def _page(title: str, body: str, head: str = "") -> bytes:
    """A page of the server itself, styled like the site."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · charters serve</title>
<link rel="stylesheet" href="{SPECIAL}style.css">
{head}</head>
<body>
<main id="main" class="wrap">
{body}
</main>
</body>
</html>
""".encode()


def error_page(errors: list[str], token: str) -> bytes:
    """The page shown instead of the site while the last build failed (every line escaped)."""
    items = "\n".join(f"<li><code>{html.escape(line)}</code></li>" for line in errors)
    count = len(errors)
    script = (
        f'<script src="{SPECIAL}livereload.js" data-build="{html.escape(token)}" defer></script>\n'
    )
    return _page(
        "Build failed",
        f"""<h1>The site could not be built</h1>
<p class="lead">{plural(count, "problem")} found. <code>charters serve</code> is
still running: fix the charter and save, and this page reloads by itself.</p>
<ol class="build-errors callout bad">
{items}
</ol>""",
        head=script,
    )


def not_found_page(path: str) -> bytes:
    return _page(
        "Not found",
        f"<h1>Not found</h1>\n<p>Nothing is built at <code>{html.escape(path)}</code>."
        ' <a href="/">Go to the portfolio</a>.</p>',
    )


# ---------------------------------------------------------------------------
# Serving


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    state: SiteState

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the browser went away mid-answer; nothing to report
        self.state.echo(f"error: while answering {client_address[0]}: {exc!r}", err=True)


class PreviewServer6(PreviewServer):
    """The preview on an IPv6 address (`--host ::1`), which an IPv4 socket cannot take."""

    address_family = socket.AF_INET6


def _server_for(host: str) -> type[PreviewServer]:
    """The server class whose socket family takes `host` (an IPv6 address has a `:`)."""
    return PreviewServer6 if ":" in host else PreviewServer


def _local_host(header: str | None, bound: object) -> bool:
    """Whether a request's `Host` may be answered: any, when the server listens beyond
    loopback (`--host 0.0.0.0` shares it on purpose); else only a loopback name or
    address (`localhost`, `127.0.0.1`, `[::1]`), or none at all (HTTP/1.0)."""
    try:
        if not ipaddress.ip_address(str(bound)).is_loopback:
            return True
    except ValueError:
        return True
    if not header:
        return True
    name = header.strip().lower()
    name = name[1 : name.find("]")] if name.startswith("[") else name.rpartition(":")[0] or name
    name = name.removesuffix(".")  # `localhost.`, fully qualified
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # [::ffff:127.0.0.1]
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files of the newest good build, plus the live-reload endpoints."""

    server: PreviewServer
    # A connection that sends nothing for this long is closed: a thread each, so a few
    # hundred half-open sockets held as many threads for good.
    timeout = 60

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        # Linked text files are served as text, never sniffed into a page or a script.
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request drowns the build messages

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if content_type.startswith("text/html"):
            self.send_header(
                "Content-Security-Policy-Report-Only",
                f"{POLICY}; report-uri {SPECIAL}{POLICY_REPORTS}",
            )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()  # the same answer without its body (see `_send` and `do_GET`)

    def do_POST(self) -> None:
        """A page's report of what the recommended policy would block (`POLICY`): said
        once on the terminal. Nothing else is posted to the preview."""
        path = unquote(urlsplit(self.path).path)
        if path != SPECIAL + POLICY_REPORTS or not _local_host(
            self.headers.get("Host"), self.server.server_address[0]
        ):
            self._send(404, b"Not found\n", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= REPORT_BYTES:
            self._send(413, b"Too large\n", "text/plain")
            return
        warning = policy_warning(self.rfile.read(length))
        if warning is not None:
            self.server.state.warn_once(warning)
        self._send(204, b"", "text/plain")

    def do_GET(self) -> None:
        if not _local_host(self.headers.get("Host"), self.server.server_address[0]):
            # DNS rebinding: a web page whose name resolves to 127.0.0.1 reads the preview.
            self._send(
                421, b"Misdirected request: this preview answers to localhost\n", "text/plain"
            )
            return
        path = unquote(urlsplit(self.path).path)
        if has_control_characters(path) or "\\" in path:
            # A NUL or other control character (or a backslash) names no file of a site;
            # the file system calls behind the static handler would fail on some of them.
            what = b"a backslash" if "\\" in path else b"control characters"
            self._send(400, b"Bad request: the path has " + what + b"\n", "text/plain")
            return
        state = self.server.state
        if path.startswith(SPECIAL):
            self._special(path[len(SPECIAL) :])
            return
        try:
            missing = not Path(self.translate_path(self.path)).exists()
            page = self._page_file(path) if _is_page(path) else None
        except OSError:  # a name too long for the file system: no file of the site
            self._send(404, b"Not found\n", "text/plain")
            return
        if missing:
            with state.build_lock:  # a build may be swapping the folder in right now
                page = self._page_file(path) if _is_page(path) else None
        if _is_page(path) and self._send_page(page):
            return
        if self.command == "HEAD":
            super().do_HEAD()
        else:
            super().do_GET()

    def _page_file(self, path: str) -> Path | None:
        """The HTML file a page request names, when there is one to send as is."""
        file = Path(self.translate_path(self.path))
        if path.endswith("/"):
            file = file / "index.html"
        return file if file.suffix == ".html" and file.is_file() else None

    def _send_page(self, file: Path | None) -> bool:
        """A page with the token of the build being served in its live-reload script, or
        the last build's problems with theirs, when it failed; False when neither was sent
        (no such page: the static handler answers)."""
        try:
            body, token_text, errors = self.server.state.read_page(file)
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND)
            return True
        if errors is not None:
            self._send(500, error_page(errors, token_text), "text/html; charset=utf-8")
            return True
        if body is None:
            return False
        token = html.escape(token_text).encode()
        body = body.replace(_MARK, b'data-build="' + token + b'"', 1)
        self._send(200, body, "text/html; charset=utf-8")
        return True

    def _special(self, name: str) -> None:
        state = self.server.state
        if name == "version":
            after = parse_qs(urlsplit(self.path).query).get("after")
            token = state.token if not after else state.token_after(after[0], LONG_POLL_SECONDS)
            self._send(200, token.encode(), "text/plain; charset=utf-8")
        elif name == "livereload.js":
            self._send(200, LIVERELOAD_JS.read_bytes(), "text/javascript; charset=utf-8")
        elif name == "style.css":
            # The project's own stylesheet as the build takes it: a file inside the source
            # (a link out of it, which the build refuses, read /etc/passwd here).
            from .readers import inside

            user = state.source / "templates" / "static" / "style.css"
            ours = user.is_file() and inside(state.source, user)
            css = user if ours else BUILTIN_TEMPLATES / "static" / "style.css"
            self._send(200, css.read_bytes(), "text/css; charset=utf-8")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == HTTPStatus.NOT_FOUND:
            body = not_found_page(unquote(urlsplit(self.path).path))
            self._send(404, body, "text/html; charset=utf-8")
            return
        super().send_error(code, message, explain)


def policy_warning(body: bytes) -> str | None:
    """The warning a browser's report of a blocked resource (`report-uri`'s JSON,
    `{"csp-report": {...}}`) gives, or None for what is not one: the page, what would be
    blocked and where. Every part comes from the browser and is made printable."""
    import json

    try:
        report = json.loads(body.decode("utf-8")).get("csp-report")
    except (UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        return None  # `[` sixty thousand times deep is no report either
    if not isinstance(report, dict):
        return None

    def part(key: str) -> str:
        value = report.get(key)
        text = isinstance(value, str | int) and not isinstance(value, bool)
        return printable(str(value))[:200] if text else ""

    def path(url: str) -> str:
        try:
            return urlsplit(url).path
        except ValueError:  # `http://[::1`: no URL; shown as sent
            return url

    page = path(part("document-uri")) or "a page"
    directive = part("effective-directive") or part("violated-directive") or "default-src"
    blocked = part("blocked-uri")
    if blocked == "inline":
        what = _INLINE.get(directive, f"inline content ({directive})")
    elif blocked == "eval":
        what = "a script's eval()"
    else:
        what = f"{blocked or 'a resource'} ({directive})"
    source = path(part("source-file"))
    line = part("line-number")
    if line:
        what += f", line {line}" + (f" of {source}" if source and source != page else "")
    return (
        f"{page}: {what} breaks the Content-Security-Policy docs/hosting.md recommends"
        f" ({POLICY}): a host that sends it blocks this; the preview only reports it."
    )


_INLINE = {
    "script-src-elem": "an inline <script>",
    "script-src-attr": "an event-handler attribute (onclick=...)",
    "script-src": "an inline script",
    "style-src-elem": "an inline <style>",
    "style-src-attr": "a style attribute",
    "style-src": "an inline style",
}


def _is_page(path: str) -> bool:
    last = path.rsplit("/", 1)[-1]
    return path.endswith("/") or last.endswith(".html") or "." not in last


class _Watching:
    """The stop event handed to `watchfiles`, which asks it every `WATCH_QUIET_MS` once the
    watch is set up; the first question sets `ready` (a large tree takes a moment to watch)."""

    def __init__(self, stop: threading.Event, ready: threading.Event) -> None:
        self.stop, self.ready = stop, ready

    def is_set(self) -> bool:
        self.ready.set()
        return self.stop.is_set()


def watch(state: SiteState, stop: threading.Event, ready: threading.Event | None = None) -> None:
    """Rebuild after each burst of changes to the build's inputs, until `stop` is set.

    The whole source folder is watched, so a `templates/` or `site.yaml` made after
    the start counts too, and so is the repository's git folder, so a commit or a
    checkout rebuilds the charters' history; `SourceFilter` keeps only the inputs.
    `watchfiles` yields once no further change came for `WATCH_QUIET_MS` (at most 1.6 s
    after the first), so an editor's save in several steps is one rebuild; changes made
    during a build are kept and yielded right after it. `ready` is set once the watch
    is set up (or has failed). A source folder removed and made again (a checkout
    copied over it) is watched anew: the watch on the removed one saw nothing more.
    """
    ready = ready if ready is not None else threading.Event()
    inputs = SourceFilter.of(state.source.absolute())
    try:
        while not stop.is_set():
            folder = _identity(inputs.root)
            try:
                if _watch_once(state, inputs, folder, stop, ready):
                    return  # stopped
            except RuntimeError as exc:  # watchfiles' own (`WatchfilesRustInternalError`)
                if "decode path" not in str(exc):
                    raise
                # A file name that is not UTF-8 (an archive's Latin-1 name) ended the watch,
                # with the other changes of its burst: watched on, and built (a build says
                # where such a name is an input).
                state.echo(f"warning: {exc}; watching on and rebuilding…", err=True)
                state.rebuild()
                continue
            while _identity(inputs.root) is None and not stop.wait(0.2):
                pass  # removed: watched again once it is back
            if stop.is_set():
                return
            state.note(f"{inputs.root} was made again; watching it anew and rebuilding…")
            inputs = SourceFilter.of(state.source.absolute())
            state.rebuild()
    except Exception as exc:  # the server goes on with the last build
        ready.set()
        command = "charters build --watch" if state.watching else "charters serve"
        state.echo(
            f"error: stopped watching {inputs.root} for changes: {exc}."
            f" Pages no longer rebuild; restart `{command}`.",
            err=True,
        )


def _watch_once(
    state: SiteState,
    inputs: SourceFilter,
    folder: tuple[int, int] | None,
    stop: threading.Event,
    ready: threading.Event,
) -> bool:
    """Rebuild after each burst of changes, until the server stops (True) or the source
    folder `folder` is no longer the one at its path (False)."""
    for changes in watchfiles.watch(
        *inputs.watched,
        watch_filter=inputs,
        stop_event=_Watching(stop, ready),
        step=WATCH_QUIET_MS,
        raise_interrupt=False,
        ignore_permission_denied=True,  # an unreadable folder beside charters/: not ours
    ):
        if stop.is_set():  # the server is stopping: no build begins now
            return True
        state.note(f"{_describe(inputs, changes)} changed; rebuilding…")
        state.rebuild()
        if _identity(inputs.root) != folder:
            return False
    return True


def _identity(folder: Path) -> tuple[int, int] | None:
    """The device and inode of `folder`, or None when it is not there."""
    try:
        found = os.stat(folder)
    except OSError:
        return None
    return found.st_dev, found.st_ino


# How often the server asks whether the date has changed (`follow_the_date`).
DATE_CHECK_SECONDS = 30.0


def follow_the_date(
    state: SiteState, stop: threading.Event, every: float = DATE_CHECK_SECONDS
) -> None:
    """Build again when the date builds judge by is no longer the last build's (midnight
    passed), until `stop` is set: the staleness alerts and days-since figures are as of
    the build date, and a page left open overnight would show yesterday's until a save.
    A clock of its own, not the watcher's quiet time: in a folder where a file is written
    every few seconds (a training log, another build's site) the watcher is never quiet."""
    while not stop.wait(every):
        today = state.new_day()
        if today is not None:
            state.note(f"the date is now {today.isoformat()}; rebuilding…")
            state.rebuild()


def _describe(inputs: SourceFilter, changes: set[FileChange]) -> str:
    """`charters/a/charter.yaml`, or `… and 2 other files`; a new folder is named by its files;
    `the git repository's head` for a commit or a checkout."""
    every = {
        "the git repository's head" if inputs.in_git(path) else str(inputs.relative(path))
        for _, path in changes
    }
    names = sorted(n for n in every if not any(o.startswith(n + "/") for o in every))
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {plural(len(names) - 1, 'other file')}"


def _seed_chart_cache(previous: Path, out: Path) -> None:
    """Start from the last `charters build` so unchanged charts are reused, not redrawn.

    Only the files its manifest lists are copied, each a plain file reached through no
    link: a page or script put in `site/` by hand (which `charters build` keeps, and
    names) would otherwise be served as part of the site, and a link (committed with
    `git add -f`, say) followed to whatever it points to; a pipe would block."""
    from .write import MANIFEST, manifest_text, read_manifest

    manifest = read_manifest(previous) if previous.is_dir() else {}
    files = manifest.get("files")
    if manifest.get("generator") != "charters" or not isinstance(files, list):
        return
    top = real_path(previous)
    # Each name once (a list may repeat one: copied as often); a NUL or a lone surrogate
    # names no file, and the file system calls refuse it (ValueError, UnicodeError).
    copied: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        for rel in dict.fromkeys(f for f in files if isinstance(f, str) and f != MANIFEST):
            name = PurePosixPath(rel)
            if name.is_absolute() or ".." in name.parts or not name.parts or "\0" in rel:
                continue  # a manifest is the site folder's, which anyone may have written
            source = previous / rel
            try:
                if real_path(source) != top / rel or not _plain(source):  # through a link
                    continue
            except (OSError, ValueError):
                continue
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / rel)
            copied.append(rel)
        # The manifest of what was copied, not of what the folder's listed: the build
        # takes its list as what it wrote before.
        sizes = manifest.get("sizes")
        kept = {**manifest, "files": copied}
        if isinstance(sizes, dict):
            kept["sizes"] = {rel: sizes[rel] for rel in copied if rel in sizes}
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).write_text(manifest_text(kept), encoding="utf-8")
    if not (out / MANIFEST).is_file():  # a copy cut short: the first build starts afresh
        shutil.rmtree(out, ignore_errors=True)


def _plain(path: Path) -> bool:
    """Whether `path` is a plain file (not a link, a pipe or a device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


TEMP_PREFIX = "charters-serve-"  # then the server's process id: charters-serve-PID-XXXXXXXX
_HANGUP = (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()


def _remove_left_behind() -> None:
    """Remove the folders of servers that ended without removing their own (killed, or
    the machine stopped): this user's `charters-serve-PID-…` folders in the temporary
    folder whose process PID is gone. A folder of a live process is left alone, even one
    that only reuses the number. POSIX only (elsewhere signal 0 is not a question)."""
    if os.name != "posix":
        return
    root = Path(tempfile.gettempdir())
    try:
        names = [n for n in os.listdir(root) if n.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(TEMP_PREFIX) :].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        path = root / name
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether a process `pid` exists (another user's counts: its number is taken)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    source: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    echo: Echo = _default_echo,
    cache_dir: Path | None = None,
) -> int:
    """Serve `source` until interrupted; the exit status (0 on Ctrl-C, 1 if it cannot start)."""
    _remove_left_behind()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    state = SiteState(source=source, out=tmp / "site", echo=echo, cache_dir=cache_dir)
    stop = threading.Event()
    server: PreviewServer | None = None
    watcher: threading.Thread | None = None
    dating: threading.Thread | None = None
    previous = _stop_on_signals()
    try:
        handler = functools.partial(PreviewHandler, directory=str(state.out))
        try:
            server = _server_for(host)((host, port), handler)
        except OSError as exc:
            # A port in use or reserved is the port's fault; anything else (an address
            # of another family, one this machine does not have) is the host's.
            option = "--port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "--host"
            echo(
                f"error: cannot serve on {printable(host)}:{port}: {exc.strerror or exc};"
                f" choose another {option}",
                err=True,
            )
            return 1
        server.state = state
        _seed_chart_cache(source / "site", state.out)
        # The watcher watches before the first build, so a save made while it runs (a
        # cold build of many charters takes minutes) is built right after it, and
        # before the address is announced: whoever reads "Serving" may edit a file, or
        # press Ctrl-C, at once.
        ready = threading.Event()
        watcher = threading.Thread(target=watch, args=(state, stop, ready), daemon=True)
        watcher.start()
        ready.wait(timeout=WATCH_SETUP_SECONDS)
        state.rebuild()
        dating = threading.Thread(target=follow_the_date, args=(state, stop), daemon=True)
        dating.start()
        bound_host, bound_port = server.server_address[:2]
        name = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown = f"[{name}]" if ":" in name else name
        echo(f"Serving {source} at http://{shown}:{bound_port}/ (Ctrl-C to stop)")
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        echo("Stopped.")
    finally:
        stop.set()  # watchfiles looks at it every WATCH_QUIET_MS
        state.close()
        try:
            _wind_down(state, watcher, dating)
        except KeyboardInterrupt:  # a second Ctrl-C: stop now, the folder removed all the same
            pass
        finally:
            if server is not None:
                server.server_close()
            _restore_signals(previous)
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def build_and_watch(
    source: Path,
    out: Path,
    *,
    echo: Echo = _default_echo,
    today: date | None = None,
    cache_dir: Path | None = None,
    quiet: bool = False,
) -> int:
    """`charters build --watch`: build `source` into `out`, then build again after each burst
    of changes to its inputs (and when the date builds judge by changes, unless `today`
    fixes it), until interrupted. Each build is `charters build`'s, from a process that
    keeps every charter it loaded (`SiteState.kept`), so a build after an edit loads and
    analyses only the charters that changed, and writes `out` in place, as the server
    writes its folder: only what changed; it waits for another build writing `out`.

    The exit status: 0 when the last build succeeded; 1 when it failed, or when the first
    could not use its folders (`--out` inside `charters/`, say: no save can mend that);
    130 when Ctrl-C cut a build short (then `out` may be part old, part new)."""
    state = SiteState(
        source=source, out=out, echo=echo, cache_dir=cache_dir, watching=True, quiet=quiet
    )
    if today is not None:
        state.clock = lambda: today
    stop = threading.Event()
    threads: list[threading.Thread] = []
    previous = _stop_on_signals()
    stopped, cut = False, False
    try:
        status = _watch_and_build(state, stop, threads, follow=today is None)
    except KeyboardInterrupt:
        stopped, status = True, 0
    finally:
        stop.set()
        state.close()
        try:
            _wind_down(state, *threads)
        except KeyboardInterrupt:  # a second Ctrl-C: the build under way is cut short
            cut = state.build_lock.locked()
        finally:
            _restore_signals(previous)
    if not stopped:
        return status
    with contextlib.suppress(OSError):  # the terminal is gone (SIGHUP): nothing to say it to
        if state.cut_short or cut:
            shown = printable(str(out))
            echo(
                f"interrupted as a build wrote {shown}: some of its files may be new and"
                " some old until the next build"
                if state._writing or cut
                else f"interrupted; {shown} is unchanged",
                err=True,
            )
        elif not quiet:
            echo("Stopped.")
    if state.cut_short or cut:
        return 130
    return 0 if state.errors is None else 1


def _watch_and_build(
    state: SiteState, stop: threading.Event, threads: list[threading.Thread], follow: bool
) -> int:
    """`build_and_watch` until interrupted (KeyboardInterrupt), or until the watch stops
    (it says why) or the first build cannot use its folders: then the exit status, 1.
    The threads it starts go into `threads`."""
    ready = threading.Event()
    watcher = threading.Thread(target=watch, args=(state, stop, ready), daemon=True)
    threads.append(watcher)
    watcher.start()
    ready.wait(timeout=WATCH_SETUP_SECONDS)
    state.first_build()
    if state.refused:
        return 1
    if follow:
        dating = threading.Thread(target=follow_the_date, args=(state, stop), daemon=True)
        threads.append(dating)
        dating.start()
    while watcher.is_alive():
        watcher.join(timeout=1.0)
    return 1


Handlers = dict[signal.Signals, Any]


def _stop_on_signals() -> Handlers:
    """Make Ctrl-C, SIGTERM and SIGHUP (the terminal closed) raise KeyboardInterrupt, so a
    server removes its folder and a watched build ends its build, even when started with
    SIGINT ignored (as a shell does to `charters serve &`): as Hugo's server does. A
    SIGHUP ignored (`nohup`) stays ignored. Returns the handlers to restore."""
    hangup = tuple(s for s in _HANGUP if signal.getsignal(s) is not signal.SIG_IGN)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, *hangup)}
    with contextlib.suppress(ValueError):  # not in the main thread (tests)
        for sig in (signal.SIGTERM, *hangup):
            signal.signal(sig, _raise_interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return previous


def _restore_signals(previous: Handlers) -> None:
    with contextlib.suppress(ValueError):  # not in the main thread (tests)
        for sig, was in previous.items():
            signal.signal(sig, was)


def _wind_down(state: SiteState, *threads: threading.Thread | None) -> None:
    """Wait for the threads, the build under way (which writes the folder about to be
    removed, and the cache) and the removal of what the last build no longer used, which
    would otherwise be left to `--gc`. A second Ctrl-C stops the wait (KeyboardInterrupt)."""
    for thread in threads:
        if thread is not None and thread.ident is not None:  # Ctrl-C may beat start()
            thread.join(timeout=2.0)
    if not state.build_lock.acquire(blocking=False):
        with contextlib.suppress(OSError):  # the terminal closed (SIGHUP): wait all the same
            state.echo("Waiting for the build under way to end (Ctrl-C again to stop now)…")
        state.build_lock.acquire()
    try:
        if state.kept is not None:
            state.kept.removed()
    finally:
        state.build_lock.release()
