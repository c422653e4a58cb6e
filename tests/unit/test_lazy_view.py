"""A charter's view as the cache keeps it (reuse._lazy_view, analyze.LazyView): what a
build reads of every charter at once, the rest the same as before when asked for."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace

from factory import ab, view
from factory import charter_data as charter

from generator.analyze import CharterView, LazyView
from generator.load import LoadedCharter, Outline
from generator.reuse import _dumps


def _stored() -> CharterView:
    data = charter(
        team="Search",
        tags=["nlp", "ranking"],
        aliases=["old-name"],
        links=[{"title": "Notes", "url": "notes.md"}],
        decisions=[{"date": "2026-03-02", "decision": "Ship it."}],
    )
    rows = [
        *ab("2026-03-01", "conv", 0.10, 0.12, n=5000),
        *ab("2026-03-08", "conv", 0.1, 0.13, n=5000),
    ]
    return view(data, rows, cid="search")


def test_what_every_charter_is_read_for_comes_without_unpickling_the_rest() -> None:
    full = _stored()
    back = pickle.loads(_dumps(full))
    assert isinstance(back, LazyView)
    stored = back.loaded.__dict__["_stored"]
    assert (back.id, back.loaded.path) == ("search", "charters/search/charter.yaml")
    assert back.outline == Outline.of(full.charter)
    assert back.outline.team == "Search" and back.outline.tags == ("nlp", "ranking")
    assert back.outline.aliases == ("old-name",)
    assert [str(d) for d in back.outline.decision_dates] == ["2026-03-02"]
    assert back.outline.metric_ids == tuple(mv.id for mv in full.metrics)
    assert (back.verdict, back.latest_date) == (full.verdict, full.latest_date)
    assert back.verdict != "no-results"
    assert back.moved_goalposts == full.moved_goalposts
    assert len(back.outline.metric_ids) == len(full.metrics) == 1
    assert not stored.unpacked


def test_the_rest_is_the_stored_charter_once_asked_for() -> None:
    full = _stored()
    back = pickle.loads(_dumps(full))
    assert back.charter == full.charter
    assert back.loaded.results.store.value.tolist() == full.loaded.results.store.value.tolist()
    (mv,) = back.metrics
    assert (mv.id, mv.latest, mv.lift, mv.status) == (
        full.metrics[0].id,
        full.metrics[0].latest,
        full.metrics[0].lift,
        full.metrics[0].status,
    )
    assert back.metrics is back.metrics  # one list: a template's metric is found in it
    assert mv.rows.store is back.loaded.results.store  # shared, as when stored


def test_a_view_given_moved_goalposts_keys_them_and_pickles_whole_again() -> None:
    back = pickle.loads(_dumps(_stored()))
    mine = copy.copy(back)  # a build's own copy, as reuse.load makes it
    # The history's: the target and the direction moved after results.
    moved = {"original_target": 0.2, "original_direction": "decrease"}
    mine.metrics = [replace(mv, **moved) for mv in mine.metrics]
    assert mine.moved_goalposts == "[(0.2, None, 'decrease', None, None)]"
    assert back.moved_goalposts == "[(None, None, None, None, None)]"
    again = pickle.loads(_dumps(mine))
    assert again.moved_goalposts == "[(0.2, None, 'decrease', None, None)]"
    assert again.metrics[0].original_target == 0.2
    assert again.metrics[0].original_direction == "decrease"
    assert again.charter == back.charter


def test_it_is_named_copied_and_pickled_as_the_view_it_stands_for() -> None:
    full = _stored()
    back = pickle.loads(_dumps(full))
    stored = back.loaded.__dict__["_stored"]
    # A template's error names the class the same, read back or loaded anew.
    assert type(back).__name__ == type(full).__name__ == "CharterView"
    assert type(back.loaded).__name__ == "LoadedCharter"
    mine = copy.copy(back)
    assert isinstance(mine, LazyView) and mine.loaded is back.loaded
    assert not stored.unpacked
    again = pickle.loads(pickle.dumps(back))  # any pickler: never the class by its name
    assert isinstance(again, LazyView) and again.charter == full.charter
    loaded = pickle.loads(pickle.dumps(back.loaded))
    assert type(loaded) is LoadedCharter and loaded.charter == full.charter
