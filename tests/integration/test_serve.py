"""`charters serve` without a browser: change detection, the endpoints, errors, exit codes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

from helpers import ScratchProject, run_cli

from generator.serve import SourceWatcher, _is_page, error_page


def test_fingerprint_follows_content_not_timestamps(scratch_project: ScratchProject) -> None:
    path = scratch_project.write("charters/a/charter.yaml", "title: one\n")
    scratch_project.write("site.yaml", "title: Site\n")
    watcher = SourceWatcher(scratch_project.root)
    first = watcher.fingerprint()
    assert watcher.fingerprint() == first
    stat = path.stat()
    path.write_text("title: two\n", encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same modification time
    second = watcher.fingerprint()
    assert second != first
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert watcher.fingerprint() == second  # touched, not changed
    scratch_project.write("charters/a/.charter.yaml.swp", "editor state")
    scratch_project.write("charters/a/charter.yaml~", "backup")
    assert watcher.fingerprint() == second
    scratch_project.write("templates/base.html", "{% block content %}{% endblock %}")
    assert watcher.fingerprint() != second


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


def start(source: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--source", str(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def test_serve_answers_pages_the_version_and_stops_on_interrupt(
    scratch_project: ScratchProject,
) -> None:
    scratch_project.charter("routing")
    proc = start(scratch_project.root, "--port", "0")
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 60
        while "Serving" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None
        url = line.split(" at ", 1)[1].split()[0]
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
        assert not (scratch_project.root / "site").exists()  # builds in a temporary folder
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert "Stopped." in out


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


def test_serve_help_lists_its_options() -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    for option in ("--source", "--port", "--host"):
        assert option in result.output
