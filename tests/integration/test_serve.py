"""`charters serve` without a browser: change detection, the endpoints, errors, exit codes."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from helpers import ScratchProject, copy_examples, run_cli
from history_repo import commit, init_repo, isolate_git
from watchfiles import Change

from generator.assets import BUILTIN_TEMPLATES
from generator.serve import (
    SiteState,
    SourceFilter,
    _is_page,
    _server_for,
    error_page,
    follow_the_date,
    policy_warning,
    watch,
)

EXAMPLES = Path(__file__).resolve().parents[2]

INPUTS = [
    "site.yaml",
    "metrics.yaml",
    "charters",
    "charters/routing",
    "charters/routing/charter.yaml",
    "charters/routing/results/ab.csv",
    "charters/routing/results/2024/q1.csv",
    "templates",
    "templates/base.html",
    "templates/static/style.css",
    "templates/static/.htaccess",  # copied into the site as a static file
    ".mailmap",  # the authors' names in the history
    ".gitignore",  # which new files are uncommitted changes
    "charters/.gitignore",
    # Files the build may read that an editor's droppings looked like: a charter whose id
    # is a year, a result file `results/*.csv` reads, others a glob or a link names.
    "charters/2024",
    "charters/2024/charter.yaml",
    "charters/routing/results/#late.csv",
    "charters/routing/results/.late.csv",
    "charters/routing/.notes.txt",
]
NOT_INPUTS = [
    "charters/routing/charter.yaml~",
    "charters/routing/.charter.yaml.swp",
    "charters/routing/.charter.yaml.swx",
    "charters/routing/.#charter.yaml",
    "charters/routing/#charter.yaml#",
    "charters/routing/4913",
    "charters/routing/charter.yaml.tmp",
    "charters/routing/.cache/ab.csv",
    "templates/__pycache__/x.pyc",
    "site.yaml~",
    "metrics.yaml.swp",
    "templates/static/.style.css.swp",
    "templates/static/.#style.css",
    "templates/.hidden/base.html",
    ".hidden",
    "site/index.html",
    "site",
    "README.md",
    ".git/index",
]


def test_source_filter_keeps_the_build_inputs_and_drops_the_rest(tmp_path: Path) -> None:
    inputs = SourceFilter(tmp_path)
    for rel in INPUTS:
        assert inputs(Change.modified, str(tmp_path / rel)), rel
    for rel in NOT_INPUTS:
        assert not inputs(Change.modified, str(tmp_path / rel)), rel
    assert not inputs(Change.added, str(tmp_path.parent / "charters" / "routing.yaml"))
    # In the repository's git folder, only what moves its head.
    git = SourceFilter(tmp_path, (tmp_path / ".git", tmp_path.parent / "common"))
    for rel in (".git/HEAD", ".git/refs/heads/main", ".git/packed-refs"):
        assert git(Change.modified, str(tmp_path / rel)), rel
    assert git(Change.modified, str(tmp_path.parent / "common/refs/heads/main"))
    for rel in (".git/index", ".git/refs/heads/main.lock", ".git/objects/ab/cd", ".git/logs/HEAD"):
        assert not git(Change.modified, str(tmp_path / rel)), rel
    assert git(Change.modified, str(tmp_path / "charters/routing/charter.yaml"))


def test_error_page_escapes_the_messages() -> None:
    body = error_page(["charters/x/charter.yaml:1:8: title: <script>alert(1)</script>"], "t-1")
    text = body.decode()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'data-build="t-1"' in text


def test_which_paths_are_pages() -> None:
    assert _is_page("/") and _is_page("/charters/x/") and _is_page("/charters/x/index.html")
    assert _is_page("/charters/x")
    assert not _is_page("/static/style.css") and not _is_page("/charters/x/ttfr.svg")


def _hangups_as_from_a_terminal() -> None:
    # The tests themselves may run under `nohup`, whose ignored SIGHUP a child inherits
    # (and serve then keeps ignoring, test_serve_started_with_nohup_outlives_its_terminal).
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def start(source: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--source", str(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=_hangups_as_from_a_terminal,
    )


def stop(proc: subprocess.Popen[str], timeout: float = 15) -> tuple[str, str]:
    """Ctrl-C the server and wait for it: what it printed (stdout, stderr)."""
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def wait_for_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + 60
    while "Serving" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line or proc.poll() is None
    return line.split(" at ", 1)[1].split()[0]


def test_serve_answers_pages_the_version_and_stops_on_interrupt(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        assert url.startswith("http://127.0.0.1:")
        status, index = get(url)
        assert status == 200
        assert 'src="__charters__/livereload.js"' in index
        status, token = get(url + "__charters__/version")
        assert status == 200 and f'data-build="{token}"' in index
        status, page = get(url + "charters/routing/index.html")
        assert status == 200 and "../../__charters__/livereload.js" in page
        status, script = get(url + "__charters__/livereload.js")
        assert status == 200 and "location.reload()" in script
        status, missing = get(url + "no/such/page.html")
        assert status == 404 and "no/such/page.html" in missing
        assert get(url + "static/")[0] == 404  # no folder listings
        for hostile in ("%00", "charters/%00/index.html", "a%0Ab"):
            assert get(url + hostile) == (400, "Bad request: the path has control characters\n")
        assert get(url + "%5C..%5Csite.yaml") == (400, "Bad request: the path has a backslash\n")
        assert get(url)[0] == 200  # and the server is still up
        assert not (scratch_project.root / "site").exists()  # builds in a temporary folder
    finally:
        interrupted = time.monotonic()
        out, err = stop(proc)
    took = time.monotonic() - interrupted
    assert proc.returncode == 0, err
    # Generous: a loaded machine is slow to tear a process down, not the server to stop.
    assert took < 10.0, f"Ctrl-C took {took:.2f} s to stop the server"
    assert "Traceback" not in out + err
    assert "Stopped." in out


def test_the_last_build_is_reused_without_following_its_links(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """serve starts from the project's `site/` (its charts reused): a link in it, to a
    private file or a folder out of the tree, was followed, copied and served."""
    scratch_project.charter("routing")
    secret = tmp_path / "id_rsa"
    secret.write_text("TOP-SECRET\n")
    site = scratch_project.root / "site"
    site.mkdir()
    (site / ".charters-site.json").write_text('{"generator": "charters"}')
    (site / "key.txt").symlink_to(secret)
    (site / "docs").symlink_to(tmp_path)
    os.mkfifo(site / "pipe")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        assert get(url)[0] == 200
        for path in ("key.txt", "docs/id_rsa", "pipe"):
            status, body = get(url + path)
            assert status == 404 and "TOP-SECRET" not in body, path
    finally:
        out, err = stop(proc)
    assert "Traceback" not in out + err


def test_only_loopback_names_are_answered_and_a_long_name_is_not_found(
    scratch_project: ScratchProject,
) -> None:
    """DNS rebinding: a web site whose name resolves to 127.0.0.1 read the preview (any
    Host was answered). A path component too long for the file system dropped the
    connection with an error printed."""
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        port = int(url.rstrip("/").rpartition(":")[2])

        def status(host: str | None, path: str = "/") -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.putrequest("GET", path, skip_host=True)
            if host is not None:
                conn.putheader("Host", host)
            conn.endheaders()
            code = conn.getresponse().status
            conn.close()
            return code

        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}",
                     f"localhost.:{port}", f"[::ffff:127.0.0.1]:{port}"):  # fmt: skip
            assert status(host) == 200, host
        for host in ("rebind.attacker.example", f"evil.example:{port}", "127.0.0.1.nip.io"):
            assert status(host) == 421, host
        assert status(f"127.0.0.1:{port}", "/" + "a" * 5000) == 404
        assert status(f"127.0.0.1:{port}", "/" + "a/" * 3000) == 404
    finally:
        out, err = stop(proc)
    assert "Traceback" not in out + err and "error:" not in err


def _report(**fields: object) -> bytes:
    return json.dumps({"csp-report": fields}).encode()


def test_policy_reports_become_one_located_warning_each() -> None:
    """What a browser reports under the report-only policy reads as a warning that names
    the page, what the policy recommended for hosting would block and where."""
    page = "http://127.0.0.1:8000/charters/routing/index.html"
    inline = policy_warning(
        _report(**{"document-uri": page, "effective-directive": "script-src-elem",
                   "blocked-uri": "inline", "source-file": page, "line-number": 17})
    )  # fmt: skip
    assert inline == (
        "/charters/routing/index.html: an inline <script>, line 17 breaks the"
        " Content-Security-Policy docs/hosting.md recommends (default-src 'self'): a host"
        " that sends it blocks this; the preview only reports it."
    )
    external = policy_warning(
        _report(**{"document-uri": page, "effective-directive": "img-src",
                   "blocked-uri": "https://tracker.example/p.gif"})
    )  # fmt: skip
    assert external is not None
    assert "/charters/routing/index.html: https://tracker.example/p.gif (img-src)" in external
    attribute = policy_warning(
        _report(**{"document-uri": page, "effective-directive": "style-src-attr",
                   "blocked-uri": "inline", "line-number": 3})
    )  # fmt: skip
    assert attribute is not None and ": a style attribute, line 3 breaks" in attribute
    # Whatever else is posted is not a report; the browser's text is made printable.
    for body in (b"", b"\xff", b"[1]", b'{"csp-report": 5}', b"null", b'"x"', b"[" * 60000):
        assert policy_warning(body) is None, body[:20]  # nested 60,000 deep: RecursionError
    # `urlsplit` refuses `http://[::1`: the address is shown as sent (it stopped the answer).
    odd = policy_warning(_report(**{"document-uri": "http://[::1", "blocked-uri": "inline",
                                    "line-number": True}))  # fmt: skip
    assert odd is not None and odd.startswith("http://[::1: inline content (default-src)")
    assert "line True" not in odd
    hostile = policy_warning(_report(**{"document-uri": "http://x/\x1b[2Ja", "blocked-uri": "\n"}))
    assert hostile is not None and "\x1b" not in hostile and "\n" not in hostile


def test_serve_asks_pages_to_report_what_the_policy_would_block_and_says_it_once(
    scratch_project: ScratchProject,
) -> None:
    """serve sent no policy, so a template that breaks the one hosting.md recommends worked
    in the preview and failed on the host. Pages now carry it as report-only: the
    preview works as before, and the terminal says what a host would block, once."""
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        with urlopen(url, timeout=10) as response:
            assert response.headers["Content-Security-Policy-Report-Only"] == (
                "default-src 'self'; report-uri /__charters__/csp"
            )
        with urlopen(url + "static/style.css", timeout=10) as response:
            assert "Content-Security-Policy-Report-Only" not in response.headers

        def post(path: str, body: bytes) -> int:
            request = Request(url + path, data=body, method="POST")
            request.add_header("Content-Type", "application/csp-report")
            try:
                with urlopen(request, timeout=10) as response:
                    return int(response.status)
            except HTTPError as error:
                return error.code

        fields = {"document-uri": url + "index.html", "blocked-uri": "inline",
                  "effective-directive": "script-src-elem", "line-number": 9}  # fmt: skip
        report = _report(**fields)
        assert post("__charters__/csp", report) == 204
        assert post("__charters__/csp", report) == 204  # the same report: said once
        assert post("__charters__/csp", b"not json") == 204
        assert post("__charters__/csp", b"x" * (64 * 1024 + 1)) == 413
        assert post("index.html", report) == 404
        for n in range(30):  # a page cannot flood the terminal
            other = _report(**{"document-uri": url, "blocked-uri": f"https://x.example/{n}"})
            assert post("__charters__/csp", other) == 204
        assert get(url)[0] == 200
    finally:
        out, err = stop(proc)
    assert "Traceback" not in out + err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings[0] == (
        "warning: /index.html: an inline <script>, line 9 breaks the Content-Security-Policy"
        " docs/hosting.md recommends (default-src 'self'): a host that sends it blocks this;"
        " the preview only reports it."
    )
    assert len(warnings) == 21, warnings
    assert warnings[-1] == "warning: more of the policy's reports are not shown."


def test_each_page_is_sent_with_the_token_of_the_build_served(
    scratch_project: ScratchProject,
) -> None:
    """The files hold a placeholder (so a rebuild can reuse an unchanged charter's page);
    the server puts the newest build's token in each page it sends, GET and HEAD alike."""
    scratch_project.charter("routing")
    scratch_project.charter("pricing", title="Dynamic pricing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        first = get(url + "__charters__/version")[1]
        page = get(url + "charters/pricing/")[1]
        assert f'data-build="{first}"' in page and 'data-build="serve"' not in page
        request = Request(url + "charters/pricing/index.html", method="HEAD")
        with urlopen(request, timeout=10) as response:
            assert int(response.headers["Content-Length"]) == len(page.encode())
            assert response.read() == b""
        scratch_project.charter("routing", title="Routing, edited")
        deadline = time.monotonic() + 60
        second = first
        while second == first and time.monotonic() < deadline:
            time.sleep(0.1)
            second = get(url + "__charters__/version")[1]
        assert second != first
        page = get(url + "charters/pricing/")[1]  # an unchanged charter's page
        assert f'data-build="{second}"' in page
        assert "Routing, edited" in get(url + "charters/routing/")[1]
    finally:
        stop(proc)


def test_ctrl_c_the_moment_serve_announces_itself_stops_it_cleanly(
    scratch_project: ScratchProject,
) -> None:
    """A Ctrl-C right after "Serving …" (before the watcher had started, once) stops it."""
    scratch_project.charter("routing")
    for _ in range(3):
        proc = start(scratch_project.root, "--port", "0")
        try:
            wait_for_url(proc)
        finally:
            out, err = stop(proc)
        assert proc.returncode == 0, err
        assert "internal error" not in err and "Traceback" not in out + err


def wait_for(url: str, text: str, timeout: float = 10) -> float:
    """Seconds until the answer at `url` contains `text`."""
    start = time.monotonic()
    while text not in get(url)[1]:
        assert time.monotonic() - start < timeout, f"{text!r} never showed at {url}"
        time.sleep(0.02)
    return time.monotonic() - start


def test_serve_rebuilds_on_an_edit_and_not_on_editor_droppings(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        page = url + "charters/routing/index.html"
        first = get(url + "__charters__/version")[1]
        assert first.endswith("-1")
        # Backups, swap files, vim's probe, an emacs lock, the project's own site/
        # and files the build does not read: none of them is a change.
        for rel in ("charter.yaml~", ".charter.yaml.swp", "4913", ".#charter.yaml"):
            scratch_project.write(f"charters/routing/{rel}", "title: not this\n")
        scratch_project.write("site/index.html", "<p>an old build</p>")
        scratch_project.write("notes.md", "not an input")
        time.sleep(0.5)  # ten times the quiet time watchfiles waits for
        assert get(url + "__charters__/version")[1] == first

        scratch_project.charter("routing", title="Edited live")
        took = wait_for(url + "__charters__/version", first[:-1] + "2")  # one rebuild
        assert took < 2.0, f"the edit took {took:.2f} s to be served"
        assert "Edited live" in get(page)[1]

        # A result file is read by the build, so it is an input too (here in a new folder).
        scratch_project.write("charters/routing/results/extra.csv", "not,a,result\n")
        wait_for(url + "__charters__/version", first[:-1] + "3")
    finally:
        out, err = stop(proc)
    lines = [line for line in out.splitlines() if line.endswith("changed; rebuilding…")]
    assert len(lines) == 2, out
    assert lines[0] == "charters/routing/charter.yaml changed; rebuilding…"
    assert lines[1].startswith("charters/routing/results")
    assert "Traceback" not in out + err


# `charters serve` whose removal of what its builds no longer use takes a second first
# (a busy disk deleting a thousand pages).
SLOW_REMOVAL = """
import sys, time
import generator.prune as prune
from generator.cli import main
real = prune.remove_unchanged_since
def slow(paths, since):
    time.sleep(1.0)
    real(paths, since)
prune.remove_unchanged_since = slow
main(sys.argv[1:])
"""


def test_what_serve_was_removing_when_stopped_is_removed_before_it_ends(
    scratch_project: ScratchProject,
) -> None:
    """The removal runs in a daemon thread, which a stopping server used to abandon: the
    entries it had still to remove stayed in the cache until `--gc`."""
    scratch_project.charter("routing")
    command = ["serve", "--source", str(scratch_project.root), "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_REMOVAL, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=_hangups_as_from_a_terminal,
    )
    pages = scratch_project.root / ".charters-cache" / "pages"
    try:
        url = wait_for_url(proc)
        first = set(pages.rglob("*.html"))
        assert len(first) == 1  # routing's page, as the first build rendered it
        scratch_project.charter("routing", title="Edited live")
        wait_for(url + "charters/routing/index.html", "Edited live")
        assert first <= set(pages.rglob("*.html"))  # still being removed
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0 and "Traceback" not in out + err, err
    assert first.isdisjoint(pages.rglob("*.html"))
    assert len(list(pages.rglob("*.html"))) == 1  # the edited page's


SLOW_BUILD = """
import sys, time
import generator.build as build_module
from generator.cli import main
real, builds = build_module.build, []
def slow(*args, **kwargs):
    builds.append(1)
    if len(builds) == 2:  # the build of the first save
        print("second build started", flush=True)
        time.sleep(float(sys.argv[1]))
    return real(*args, **kwargs)
build_module.build = slow
main(sys.argv[2:])
"""


def serving_folders(proc: subprocess.Popen[str]) -> list[Path]:
    from generator.serve import TEMP_PREFIX

    return list(Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}{proc.pid}-*"))


@pytest.mark.parametrize("again", [False, True], ids=["waits-for-the-build", "ctrl-c-twice"])
def test_ctrl_c_during_a_build_waits_for_it_or_stops_at_a_second(
    scratch_project: ScratchProject, again: bool
) -> None:
    """Stopping removed the served folder while a build still wrote it (and the cache),
    and a second Ctrl-C during the teardown left the folder and the port behind."""
    scratch_project.charter("routing")
    sleep = "60" if again else "3"
    command = ["serve", "--source", str(scratch_project.root), "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, sleep, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=_hangups_as_from_a_terminal,
    )
    assert proc.stdout is not None
    try:
        wait_for_url(proc)
        assert len(serving_folders(proc)) == 1
        scratch_project.charter("routing", title="Edited live")
        assert proc.stdout.readline().endswith("changed; rebuilding…\n")
        assert proc.stdout.readline() == "second build started\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "Stopped.\n"
        waiting = proc.stdout.readline()
        assert waiting.startswith("Waiting for the build under way to end (Ctrl-C again")
        if again:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "Traceback" not in out + err, err
    assert serving_folders(proc) == []
    if not again:  # the build ended before the server did, its output whole
        assert out.startswith("Built 1 charter")


def test_a_source_folder_removed_and_made_again_is_watched_anew(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """`rm -rf src; cp -r other src`: the watch on the removed folder saw nothing more, and
    every later save went unbuilt, without a word."""
    scratch_project.charter("routing")
    copy = tmp_path / "copy"
    shutil.copytree(scratch_project.root, copy)
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        page = url + "charters/routing/index.html"
        shutil.rmtree(scratch_project.root)
        time.sleep(0.5)
        shutil.copytree(copy, scratch_project.root)
        scratch_project.charter("routing", title="Copied back")
        wait_for(page, "Copied back")
        time.sleep(0.5)
        scratch_project.charter("routing", title="Edited after")
        wait_for(page, "Edited after")
    finally:
        out, _ = stop(proc)
    assert "was made again; watching it anew" in out


@pytest.mark.parametrize("inside", ["", "portfolio"], ids=["at-the-top", "in-a-subfolder"])
def test_serve_rebuilds_the_history_on_a_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    """A commit changes no source file, yet it changes the charters' history: the server
    watches the repository's head too (its git folder inside the source folder, or
    beside it when the source is a folder of the repository)."""
    isolate_git(monkeypatch, tmp_path / "home")
    repo = tmp_path / "repo"
    project = ScratchProject(repo / inside)
    project.charter("routing")
    project.write(".gitignore", "/.charters-cache/\n")
    init_repo(repo)
    commit(repo, "Routing charter", "Ana Ruiz", "2026-05-01T12:00:00+00:00")
    note = "This charter has uncommitted changes"
    proc = start(project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        page = url + "charters/routing/index.html"
        assert note not in get(page)[1]
        project.charter("routing", status="paused")
        wait_for(page, note)
        # The status change is history once committed: shown with its commit's hash.
        sha = commit(repo, "Pause routing", "Ana Ruiz", "2026-05-08T12:00:00+00:00")
        wait_for(page, sha)
        assert note not in get(page)[1]
        now = get(url + "__charters__/version")[1]
        time.sleep(0.5)  # nothing else moved the head: no further build
        assert get(url + "__charters__/version")[1] == now
    finally:
        out, err = stop(proc)
    assert "the git repository's head changed; rebuilding…" in out.splitlines()
    assert "Traceback" not in out + err


def test_serve_refuses_a_port_in_use(scratch_project: ScratchProject) -> None:
    scratch_project.charter("routing")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = start(scratch_project.root, "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in err and "--port" in err
    assert "Traceback" not in out + err


def test_serve_on_an_address_this_machine_lacks_names_the_host(
    scratch_project: ScratchProject,
) -> None:
    """Every failure to listen advised another --port, also for an address of another
    family or one this machine does not have."""
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "cannot serve on 192.0.2.1:0" in err and "choose another --host" in err


def test_serve_help_lists_its_options() -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    for option in ("--source", "--port", "--host"):
        assert option in result.output


@pytest.mark.parametrize("host", ["", " ", "local\nhost"])
def test_an_empty_host_is_refused_not_every_interface(host: str) -> None:
    """`--host "$HOST"` with HOST unset listened on 0.0.0.0: the preview on the network."""
    result = run_cli("serve", "--host", host)
    assert result.exit_code == 2
    assert "is no address; give one to listen on (127.0.0.1 for this machine only" in (
        result.output
    )


def _a_dead_pid() -> int:
    """The number of a process that has ended (and, just now, not been reused)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_serve_removes_what_ended_servers_left_and_its_own_folder_on_hangup(
    scratch_project: ScratchProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server killed outright cannot remove its folder (a copy of the site); the next
    one removes the folders of servers whose process is gone. Closing the terminal
    (SIGHUP) stops a server as Ctrl-C does, its folder removed."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    dead = temp / f"charters-serve-{_a_dead_pid()}-abcd1234"
    (dead / "site").mkdir(parents=True)
    (dead / "site" / "index.html").write_text("old", "utf-8")
    alive = temp / f"charters-serve-{os.getpid()}-abcd1234"  # this test's process: alive
    alive.mkdir()
    other = temp / "charters-serve-notapid"  # not named by a server of this kind
    other.mkdir()
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        wait_for_url(proc)
        assert not dead.exists() and alive.is_dir() and other.is_dir()
        (own,) = [p for p in temp.iterdir() if p.name.startswith(f"charters-serve-{proc.pid}-")]
        assert (own / "site" / "index.html").is_file()
    finally:
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in out + err
    assert not own.exists()


def test_serve_started_with_nohup_outlives_its_terminal(scratch_project: ScratchProject) -> None:
    """SIGHUP ignored by whoever started the server (`nohup charters serve &`) stays
    ignored: closing the terminal does not stop it."""
    scratch_project.charter("routing")

    def ignoring_hangups() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    argv = [sys.executable, "-m", "generator", "serve", "--source", str(scratch_project.root)]
    proc = subprocess.Popen(
        [*argv, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=ignoring_hangups,
    )
    try:
        url = wait_for_url(proc)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert proc.poll() is None
        assert get(url + "__charters__/version")[0] == 200
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in out + err


def test_a_save_during_the_first_build_is_built_after_it(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """The first build of a large tree takes a while; a charter saved while it draws its
    charts (after it has read that charter) is built right after it, not left stale
    until the next save."""
    root = scratch_project.root
    shutil.copytree(EXAMPLES / "charters", root / "charters")
    shutil.copy(EXAMPLES / "site.yaml", root / "site.yaml")
    shutil.copy(EXAMPLES / "metrics.yaml", root / "metrics.yaml")
    charter = root / "charters" / "churn-prediction" / "charter.yaml"
    charts = root / ".charters-cache" / "charts"
    proc = start(root, "--port", "0")
    try:
        deadline = time.monotonic() + 120
        while not charts.is_dir():  # drawing: every charter was read before
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        text = charter.read_text("utf-8")
        charter.write_text(re.sub(r"(?m)^title: .*$", "title: Saved while building", text), "utf-8")
        url = wait_for_url(proc)
        wait_for(url + "charters/churn-prediction/index.html", "Saved while building", 60)
    finally:
        out, err = stop(proc)
    assert "Traceback" not in out + err


def test_a_page_asking_after_its_build_is_answered_when_the_next_build_ends(
    scratch_project: ScratchProject,
) -> None:
    """`version?after=TOKEN` (livereload.js) is held while TOKEN is the newest build and
    answered as soon as another build ends; asked with an older token, at once."""
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        first = get(url + "__charters__/version")[1]
        started = time.monotonic()
        assert get(url + "__charters__/version?after=an-older-build")[1] == first
        assert time.monotonic() - started < 1.0
        answers: list[tuple[float, str]] = []

        def ask() -> None:
            with urlopen(url + f"__charters__/version?after={first}", timeout=30) as response:
                answers.append((time.monotonic(), response.read().decode()))

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(1.0)
        assert answers == []  # held: nothing was built since
        saved = time.monotonic()
        scratch_project.charter("routing", title="Edited while a page waits")
        asking.join(timeout=20)
        assert len(answers) == 1
        answered, token = answers[0]
        assert token == first[:-1] + "2" and answered > saved
        assert "Edited while a page waits" in get(url + "charters/routing/")[1]
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err


def test_a_build_that_changes_nothing_keeps_the_token(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    # A commit writes to .git/ in several steps; the last may come after the build the
    # first started, and the build it starts then changes nothing: the open pages must
    # not reload for it. After a failed build, the same site is news again.
    scratch_project.charter("routing")
    state = SiteState(scratch_project.root, tmp_path / "site", echo=lambda *a, **k: None)
    assert state.rebuild()
    first = state.token
    assert state.rebuild() and state.token == first  # nothing changed
    scratch_project.charter("routing", title="Edited")
    assert state.rebuild() and state.token != first
    edited = state.token
    good = (scratch_project.root / "charters/routing/charter.yaml").read_text()
    scratch_project.charter("routing", text="title: [unclosed\n")
    assert not state.rebuild() and state.token != edited and state.errors
    failed = state.token
    scratch_project.charter("routing", text=good)  # back to the site on disk: a no-op build
    assert state.rebuild() and state.token != failed and state.errors is None
    assert len({first, edited, failed, state.token}) == 4


@pytest.mark.parametrize("lost", ["manifest", "files"])
def test_the_servers_own_folder_that_lost_its_files_is_built_again(
    scratch_project: ScratchProject, tmp_path: Path, lost: str
) -> None:
    """A cleaner of the temporary folder took the server's site files, or its manifest:
    every build after was refused ("not written by charters … choose another --out",
    which serve has not) and every page answered 500 until a restart (review)."""
    scratch_project.charter("routing")
    out = tmp_path / "site"
    state = SiteState(scratch_project.root, out, echo=lambda *a, **k: None)
    assert state.rebuild()
    if lost == "manifest":
        (out / ".charters-site.json").unlink()
    else:
        for path in [p for p in out.rglob("*") if p.is_file()]:
            path.unlink()
    scratch_project.charter("routing", title="Edited after the cleaner")
    assert state.rebuild(), state.errors
    assert "Edited after the cleaner" in (out / "charters/routing/index.html").read_text()
    assert state.rebuild() and state.errors is None


def test_a_page_is_never_read_with_the_token_of_a_build_that_failed(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """A page request looked at the problems, then read the page and the token: a build
    that failed in between stamped the last good page with its token, so the open page
    showed neither the problems nor a reload until the next build. The page, the token
    and the problems are read together."""
    scratch_project.charter("routing")
    state = SiteState(scratch_project.root, tmp_path / "site", echo=lambda *a, **k: None)
    assert state.rebuild()
    page = tmp_path / "site" / "index.html"
    body, good, problems = state.read_page(page)
    assert body is not None and problems is None
    scratch_project.charter("routing", text="title: [unclosed\n")
    assert not state.rebuild()
    assert state.read_page(page) == (None, state.token, state.errors)
    assert state.token != good and state.errors
    assert state.read_page(None) == (None, state.token, state.errors)


def test_the_error_pages_stylesheet_is_never_read_through_a_link_out_of_the_source(
    scratch_project: ScratchProject, tmp_path: Path
) -> None:
    """The build refuses templates/static/style.css as a link out of the source, and the
    error page it then shows linked the stylesheet read through it (/etc/passwd here)."""
    scratch_project.charter("routing")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret\n")
    (scratch_project.root / "templates" / "static").mkdir(parents=True)
    (scratch_project.root / "templates" / "static" / "style.css").symlink_to(secret)
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        status, page = get(url)
        assert status == 500 and "leaves the source folder" in page
        status, css = get(url + "__charters__/style.css")
        assert status == 200 and "secret" not in css
        assert css == (BUILTIN_TEMPLATES / "static" / "style.css").read_text()
    finally:
        stop(proc, 30)


def test_only_the_files_the_last_build_wrote_are_taken_from_its_site(
    scratch_project: ScratchProject,
) -> None:
    """serve starts from the project's site/ so its charts are reused: a page put there by
    hand (which `charters build` keeps, and names) was served as part of the preview."""
    scratch_project.charter("routing")
    site = scratch_project.root / "site"
    assert scratch_project.build(site).ok
    (site / "evil.html").write_text("<script>alert(document.domain)</script>")
    (site / "charters" / "ghost").mkdir()
    (site / "charters" / "ghost" / "index.html").write_text("<h1>No such charter</h1>")
    # A manifest anyone may have written: a NUL stopped the server with an internal
    # error, and a name listed 50,000 times was copied as often.
    manifest = json.loads((site / ".charters-site.json").read_text())
    manifest["files"] += ["x\u0000y", "/etc/passwd", "../outside", *["index.html"] * 50_000]
    (site / ".charters-site.json").write_text(json.dumps(manifest))
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        assert get(url)[0] == 200
        assert get(url + "charters/routing/")[0] == 200
        assert get(url + "evil.html")[0] == 404
        assert get(url + "charters/ghost/")[0] == 404
    finally:
        stop(proc, 30)


@pytest.mark.parametrize(
    ("host", "family"),
    [("127.0.0.1", socket.AF_INET), ("0.0.0.0", socket.AF_INET), ("::1", socket.AF_INET6)],
)
def test_an_ipv6_host_gets_an_ipv6_socket(host: str, family: socket.AddressFamily) -> None:
    """`--host ::1` failed: "Address family for hostname not supported" (the server's
    socket was IPv4 only, though it names and accepts [::1] as loopback)."""
    assert _server_for(host).address_family == family


def test_stopping_answers_a_waiting_page_at_once(tmp_path: Path) -> None:
    state = SiteState(source=tmp_path, out=tmp_path / "site", token="t-1")
    assert state.token_after("t-0", timeout=5) == "t-1"  # another build: at once
    started = time.monotonic()
    assert state.token_after("t-1", timeout=0.2) == "t-1"  # no build: after the timeout
    assert 0.15 < time.monotonic() - started < 2
    waited: list[str] = []
    waiting = threading.Thread(target=lambda: waited.append(state.token_after("t-1", 30)))
    waiting.start()
    time.sleep(0.2)
    state.close()
    waiting.join(timeout=5)
    assert waited == ["t-1"]


def test_a_site_left_open_past_midnight_is_built_again_for_the_new_date(
    tmp_path: Path,
) -> None:
    """The staleness figures are as of the build date: with no save, the server still
    builds again once the date has changed, and the open pages reload; also in a folder
    where a file that is not an input is written all the time (the watcher is never
    quiet there)."""
    source = copy_examples(tmp_path / "source")
    days = iter([date(2030, 1, 1)])
    today = date(2030, 1, 1)
    echoed: list[str] = []
    state = SiteState(source, tmp_path / "site", echo=lambda m="", err=False: echoed.append(m))
    state.clock = lambda: next(days, today)
    assert state.rebuild()
    first = state.token
    page = tmp_path / "site" / "charters" / "card-fraud-detection" / "index.html"
    assert "days before 2030-01-01" in page.read_text("utf-8")
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(state, stop), daemon=True)
    dating = threading.Thread(target=follow_the_date, args=(state, stop, 0.1), daemon=True)
    watcher.start()
    dating.start()
    log = source / "train.log"
    try:
        for _ in range(5):  # several checks of an unchanged date: no build
            log.write_text(f"{time.monotonic()}\n", "utf-8")
            time.sleep(0.1)
        assert state.token == first
        today = date(2030, 1, 2)
        deadline = time.monotonic() + 60
        while state.token == first and time.monotonic() < deadline:
            log.write_text(f"{time.monotonic()}\n", "utf-8")
            time.sleep(0.05)
        assert state.token != first
    finally:
        stop.set()
        watcher.join(timeout=10)
        dating.join(timeout=10)
    assert "the date is now 2030-01-02; rebuilding…" in echoed
    text = page.read_text("utf-8")
    assert "days before 2030-01-02" in text and "days before 2030-01-01" not in text


def test_a_file_name_that_is_not_utf8_does_not_stop_the_watch(
    scratch_project: ScratchProject,
) -> None:
    """A file named in Latin-1 anywhere in the source (an archive extracted there) ended
    the watch: "stopped watching … restart", and no later save was built (review)."""
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        url = wait_for_url(proc)
        page = url + "charters/routing/index.html"
        first = get(url + "__charters__/version")[1]
        with open(os.fsencode(scratch_project.root / "charters") + b"/notes-\xff.txt", "w") as f:
            f.write("x")
        time.sleep(0.5)
        scratch_project.charter("routing", title="Edited after the name")
        wait_for(page, "Edited after the name", timeout=20)
        assert get(url + "__charters__/version")[1] != first
    finally:
        _, err = stop(proc)
    assert "stopped watching" not in err
    assert "not UTF-8" in err or "decode path" in err  # said, and watched on
