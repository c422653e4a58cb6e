"""fork.in_two on plain work: the build and its copy take the items from one pipe, each
item once, and the results come out in the items' order with `then` run once."""

from __future__ import annotations

import os
import time

import pytest

import generator.fork as fork


class Log:
    """What was made, by which process: the state the copy gives back (fork.STATE's "map")."""

    def __init__(self) -> None:
        self.made: dict[str, int] = {}


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> Log:
    monkeypatch.setattr(fork, "STATE", {"log": {"made": "map"}})
    monkeypatch.setattr(fork, "FORK_FROM", 2)
    # A thread an earlier test left in this process would rule the fork out; the copy
    # here takes no lock such a thread could hold.
    monkeypatch.setattr(fork, "can_fork", lambda: True)
    return Log()


def test_every_item_is_made_once_and_the_results_keep_their_order(log: Log) -> None:
    build = os.getpid()

    def work(n: int) -> tuple[int, int]:
        if os.getpid() == build:
            time.sleep(0.002)  # the build's own slower: the copy takes a share too
        log.made[f"item {n}"] = os.getpid()
        return n * n, os.getpid()

    def then() -> int:
        log.made["then"] = os.getpid()
        return os.getpid()

    items = list(range(300))
    results, also = fork.in_two(items, work, {"log": log}, then=then)
    assert [square for square, _ in results] == [n * n for n in items]
    makers = {pid for _, pid in results}
    assert build in makers and len(makers) == 2  # both took items
    assert also != build and log.made["then"] == also  # the copy ran `then`, once
    # What the copy made is in the build's state, as if it had made it itself.
    assert sorted(log.made) == sorted([f"item {n}" for n in items] + ["then"])
    assert {log.made[f"item {n}"] for n in items} == makers


def test_without_a_copy_then_runs_after_the_items(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fork, "FORK_FROM", 10**9)
    order: list[str] = []
    results, also = fork.in_two(
        [1, 2, 3], lambda n: order.append(f"item {n}") or n, {"log": log}, then=lambda: "then"
    )
    order.append(str(also))
    assert (results, order) == ([1, 2, 3], ["item 1", "item 2", "item 3", "then"])


def test_the_claims_hand_out_each_number_once_to_two_readers() -> None:
    claims = fork._claims(fork.MAX_CLAIMS)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a second reader, as the copy is: it sends back what it took
        status = 1
        try:
            os.close(read)
            taken = b"".join(n.to_bytes(2, "big") for n in fork._claimed(claims))
            os.write(write, taken)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        mine = list(fork._claimed(claims))
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(claims)
    with os.fdopen(read, "rb") as sent:
        data = sent.read()
    theirs = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    assert status == 0
    assert sorted(mine + theirs) == list(range(fork.MAX_CLAIMS))  # each once, none lost
