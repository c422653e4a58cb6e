"""A git repository of charters whose history has every kind of event, built with real git.

Shared by the history tests and the browser tests of a page with history. Each
commit has a set author and GIT_AUTHOR_DATE/GIT_COMMITTER_DATE.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from factory import ab, business_metric, charter_data, row, write_charter


def isolate_git(mp: pytest.MonkeyPatch, home: Path) -> None:
    """No user or system git configuration leaks into the tests."""
    home.mkdir(exist_ok=True)
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    mp.delenv("CHARTERS_CACHE_DIR", raising=False)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        mp.delenv(name, raising=False)


def git(repo: Path, *args: str, author: str | None = None, when: str | None = None) -> str:
    env = dict(os.environ)
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    if author:
        env |= {"GIT_AUTHOR_NAME": author, "GIT_COMMITTER_NAME": author}
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def init_repo(repo: Path) -> None:
    """A new repository at `repo` that commits with a set name and address, unsigned."""
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Charters Test")
    git(repo, "config", "user.email", "charters@example.com")
    git(repo, "config", "commit.gpgsign", "false")


def commit(repo: Path, message: str, author: str, when: str) -> str:
    """Commit everything; the short hash (10 characters) the page shows."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, author=author, when=when)
    return git(repo, "rev-parse", "HEAD").strip()[:10]


def charter(
    target: float, status: str = "live", agreed: dict[str, object] | None = None
) -> dict[str, Any]:
    metric = business_metric(target={"value": target})
    if agreed is not None:
        metric["agreed"] = agreed
    return charter_data(status=status, business_metrics=[metric])


ROWS = [
    *ab("2026-01-31", "conv", 10.0, 10.4, n=50000),
    *ab("2026-02-28", "conv", 10.1, 10.9, n=50000),
]
MORE = ab("2026-03-31", "conv", 10.0, 11.2, n=50000)
# The same, and a production row below the baseline after them: "No impact", unless a
# cadence that no production row is judged by (`stretched`) lets the lift stand.
PRODUCTION = [*ROWS, row("2026-03-20", "conv", 9.0)]


def stretched(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with a cadence of every 999 months: its production rows judge nothing."""
    return {**body, "measurement": {**body["measurement"], "cadence": "every 999 months"}}


def make_history_repo(tmp_path: Path, filtered: bool = False) -> tuple[Path, dict[str, str]]:
    """A repository whose charter `routing` goes through every kind of history event.
    `filtered`: its result files kept through a filter, as Git LFS keeps them (each blob
    is the file in base64; a checkout decodes it)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "charters@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    if filtered:
        git(repo, "config", "filter.b64.clean", "base64")
        git(repo, "config", "filter.b64.smudge", "base64 -d")
        (repo / ".gitattributes").write_text("*.csv filter=b64\n", encoding="utf-8")
    (repo / "site.yaml").write_text("title: History test\n", encoding="utf-8")
    hashes: dict[str, str] = {}
    write_charter(repo, "routing", charter(12.0, status="proposed"))
    write_charter(repo, "quiet", charter_data(title="Quiet charter"))
    hashes["created"] = commit(repo, "Add charters", "Ana Ruiz", "2026-01-05T09:00:00Z")
    write_charter(repo, "routing", charter(12.5, status="proposed"))
    hashes["early"] = commit(repo, "Raise the target", "Ben Okafor", "2026-01-20T10:00:00Z")
    write_charter(repo, "routing", charter(12.5), ROWS)
    hashes["live"] = commit(repo, "Go live", "Ana Ruiz", "2026-03-01T11:00:00Z")
    write_charter(repo, "routing", charter(13.0), ROWS)
    hashes["moved"] = commit(repo, "Raise it again", "Chen Li", "2026-03-02T12:00:00Z")
    again = {"by": ["VP Sales", "CFO"], "on": "2026-03-10"}
    write_charter(repo, "routing", charter(13.5, agreed=again), ROWS)
    hashes["reagreed"] = commit(repo, "Re-agree", "Dana Ito", "2026-03-10T13:00:00Z")
    write_charter(repo, "routing", charter(13.5, agreed=again), [*ROWS, *MORE])
    hashes["appended"] = commit(repo, "March results", "Ben Okafor", "2026-04-01T14:00:00Z")
    rewritten = [*ROWS[:3], row("2026-02-28", "conv", 11.4, "treatment", n=50000), *MORE]
    write_charter(repo, "routing", charter(13.5, agreed=again), rewritten)
    hashes["rewritten"] = commit(repo, "Fix February", "Eve Park", "2026-04-15T15:00:00Z")
    return repo, hashes
