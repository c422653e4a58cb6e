"""Analyse stage: from a loaded charter to what the pages show: series, latest values, progress.

Nothing here reads files or renders; every function takes plain data and returns
plain data, so each rule can be tested on its own.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Literal, get_args, overload

from . import model as m
from .columns import ResultTable, RowStore, as_table
from .load import LazyLoaded, LoadedCharter, Outline, Project, Result, Stored
from .readers import Document
from .stats import (
    Arm,
    Lift,
    Method,
    arm_interval,
    beyond_tolerance,
    lift,
    progress,
    reached,
    reaches_effect,
    tolerance_limit,
    too_few,
    too_few_against,
)
from .vocabulary import ROLLED_OUT, TREATMENT, Kind, MetricStatus, Verdict, is_control

Status = MetricStatus  # a metric's status, named for the stage that decides it
# A business metric's goalposts before they moved after results (MetricView.originals).
Originals = tuple[float | None, float | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)  # slots: a long series has one per date
class DatedLift:
    """The lift of the treatment arm over control on one date."""

    date: date
    treatment: str
    lift: Lift


_METHODS: tuple[Method, ...] = get_args(Method)


class LiftHistory(Sequence[DatedLift]):
    """A metric's lifts in date order, held as columns; a `DatedLift` is made when asked.

    A series of a million rows has up to half a million lifts: as objects some 250
    bytes each, here 45 (one treatment arm for all).
    """

    _COLUMNS = ("absolute", "relative", "ci_low", "ci_high", "p_value")

    def __init__(self, treatment: str, lifts: Iterable[DatedLift] = ()) -> None:
        self.treatment = treatment
        self.date = array("i")
        self.absolute = array("d")
        self.relative = array("d")
        self.ci_low = array("d")
        self.ci_high = array("d")
        self.p_value = array("d")
        self.method = array("B")
        for item in lifts:
            self.append(item.date, item.lift)

    def append(self, day: date, lf: Lift) -> None:
        self.date.append(day.toordinal())
        self.absolute.append(lf.absolute)
        self.relative.append(float("nan") if lf.relative is None else lf.relative)
        self.ci_low.append(lf.ci_low)
        self.ci_high.append(lf.ci_high)
        self.p_value.append(lf.p_value)
        self.method.append(_METHODS.index(lf.method))

    def __len__(self) -> int:
        return len(self.date)

    @overload
    def __getitem__(self, i: int) -> DatedLift: ...
    @overload
    def __getitem__(self, i: slice) -> LiftHistory: ...
    def __getitem__(self, i: int | slice) -> DatedLift | LiftHistory:
        if isinstance(i, slice):
            part = LiftHistory(self.treatment)
            for name in ("date", "method", *self._COLUMNS):
                setattr(part, name, getattr(self, name)[i])
            return part
        relative = self.relative[i]
        made = Lift(
            self.absolute[i],
            None if relative != relative else relative,
            self.ci_low[i],
            self.ci_high[i],
            self.p_value[i],
            _METHODS[self.method[i]],
        )
        return DatedLift(date.fromordinal(self.date[i]), self.treatment, made)

    def __iter__(self) -> Iterator[DatedLift]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def dates(self) -> list[date]:
        return [date.fromordinal(day) for day in self.date]


def _no_rows() -> ResultTable:
    return ResultTable(RowStore())


@dataclass(frozen=True)
class MetricView:
    """One metric of a charter with its results and derived numbers."""

    id: str
    kind: Kind
    name: str
    unit: str
    direction: m.Direction
    definition: str | None
    baseline: float | None
    target: float | None
    human: float | None
    rows: ResultTable
    latest: Result | None
    progress: float | None
    met: bool | None
    drives: tuple[str, ...] = ()
    tolerance: float | None = None
    lift: DatedLift | None = None
    lifts: LiftHistory = field(default_factory=lambda: LiftHistory(""))
    status: Status = "no-results"
    move: float | None = None  # change in the good-or-bad sense, see `movement`
    move_reference: str | None = None
    move_interval: tuple[float, float] | None = None
    breached: bool = False
    # A guardrail's experiment's last paired date, when production rows after it judge it
    # against the baseline (see `guardrail_move`); the chart draws its limit so.
    rollout: date | None = None
    # The limit a guardrail's move was judged against: the value it was judged against
    # (control, the baseline, its first result) less its tolerance, or plus it; None
    # for other metrics, and without results.
    limit: float | None = None
    # What a goalpost the verdict is judged by was before it moved after results, while it
    # is not back there (history.with_history); None where it did not move.
    original_target: float | None = None
    original_baseline: float | None = None
    original_direction: str | None = None
    original_unit: str | None = None
    original_definition: str | None = None
    # The date of the pair the move was measured on when the metric was judged there, not
    # on its latest value (`_judged`): the evidence dates the move by it.
    move_date: date | None = None
    # The newest pair's date when the latest value, a row of the compared arm after it,
    # gave the pair's status (`_judged`): the metric's news is as old as the pair.
    pair_date: date | None = None

    @cached_property
    def newest(self) -> tuple[date, int] | None:
        """The date of the newest row (of any arm) and how many rows have that date; None
        without rows. Read once (the feed asks), and kept with the cached view
        (analyze_charter asks before it is stored)."""
        days = self.rows.ordinals()
        if not days:
            return None
        day = max(days)
        return date.fromordinal(day), days.count(day)

    @property
    def originals(self) -> Originals:
        """The original target, baseline, direction, unit and definition (None each that
        did not move: history.JUDGED_GOALPOSTS)."""
        return (
            self.original_target,
            self.original_baseline,
            self.original_direction,
            self.original_unit,
            self.original_definition,
        )

    @property
    def goalpost_moved(self) -> bool:
        """Whether a goalpost this metric is judged by moved after its first result."""
        return any(x is not None for x in self.originals)

    @property
    def together(self) -> tuple[float | None, ...]:
        """The numbers shown side by side wherever the metric is (its baseline, human
        baseline, latest value, target, the original target and baseline, and a
        guardrail's limit): each is written with the digits that tell it from the
        others, the same wherever it is shown (`fmt_value`'s `apart`)."""
        latest = self.latest.row.value if self.latest is not None else None
        return (
            self.baseline,
            self.human,
            latest,
            self.target,
            self.original_target,
            self.original_baseline,
            self.limit,
        )

    @property
    def raw_change(self) -> float | None:
        """The move in the metric's own sign (`move` is good-positive), as computed: what
        check's JSON report gives."""
        if self.move is None:
            return None
        return self.move if self.direction == "increase" else -self.move

    @property
    def change(self) -> float | None:
        """`raw_change` as a guardrail's table and alert write it: a guardrail's move that
        `beyond_tolerance` takes for its tolerance, but for the float's last bits (4.3 −
        4.4 is −0.10000000000000053), is the tolerance: told apart from it (`sizes`), it
        would read with 17 digits."""
        raw = self.raw_change
        if raw is None:
            return None
        tol = self.tolerance
        if tol is not None and math.isclose(abs(raw), tol, rel_tol=1e-9, abs_tol=1e-12):
            return math.copysign(tol, raw)
        return raw

    @property
    def sizes(self) -> tuple[float, ...]:
        """What a guardrail's change and tolerance are read beside (`fmt_signed`'s and
        `fmt_difference`'s `apart`): each other, so that a move of −0.1001 beside a
        tolerance of 0.1 never reads −0.1; () for other metrics."""
        if self.tolerance is None:
            return ()
        change = self.change
        return (self.tolerance,) if change is None else (self.tolerance, abs(change))

    @property
    def variants(self) -> list[str]:
        """Variant labels in a stable order: production first, control, then the rest."""
        names = {v or "" for v in self.rows.variant_names()}
        return sorted(names, key=lambda v: (v != "", not is_control(v), v))

    def series(self, variant: str) -> list[Result]:
        return list(self.rows.group("variant").get(variant, ()))


@dataclass
class CharterView:
    """A charter plus everything computed from it for the pages."""

    loaded: LoadedCharter
    metrics: list[MetricView] = field(default_factory=list)
    verdict: Verdict = "no-results"
    # What the staleness rule (MC109) says of the charter at this build's date, when it
    # found its results overdue and is not switched off (rules.mark_overdue), else None:
    # the pages show it beside the verdict. Set at every build, never kept with the view.
    overdue: str | None = None
    # The day an edit of the charter, not new results, brought the verdict it has (from
    # its history: history.with_history), else None; set at every build, as `overdue` is.
    edited_on: str | None = None

    @property
    def marks(self) -> str:
        """What the build adds to the view beside its verdict (the goalposts its history
        moved, whether its results are overdue, an edit that brought its verdict), as
        text for the keys of what shows them."""
        return self.moved_goalposts + repr((self.overdue, self.edited_on))

    @property
    def breached(self) -> list[MetricView]:
        return [g for g in self.by_kind("guardrail") if g.breached]

    @property
    def any_breached(self) -> bool:
        """Whether a guardrail is breached: what the portfolio and team pages count, which
        a view read back from the cache knows without its metrics (`LazyView`)."""
        return bool(self.breached)

    @property
    def goalpost_moved(self) -> bool:
        """Whether a goalpost a business metric is judged by (its target, baseline,
        direction, unit or definition) moved after its first result (from the history:
        `history.with_history`): the verdict is judged by the new one."""
        return any(b.goalpost_moved for b in self.by_kind("business"))

    @property
    def id(self) -> str:
        return self.loaded.id

    @property
    def charter(self) -> m.Charter:
        return self.loaded.charter

    @property
    def outline(self) -> Outline:
        """What the parts of a build made from every charter read of this one."""
        return self.loaded.outline

    @property
    def moved_goalposts(self) -> str:
        """Each metric's original goalposts (`MetricView.originals`: None each but where it
        moved after results, history.with_history), as text for the keys of
        what shows them."""
        return repr([mv.originals for mv in self.metrics])

    def by_kind(self, kind: Kind) -> list[MetricView]:
        return [x for x in self.metrics if x.kind == kind]

    def metric(self, mid: str) -> MetricView | None:
        return next((x for x in self.metrics if x.id == mid), None)

    @cached_property
    def latest_date(self) -> date | None:
        """The date of the newest result row (read once: the portfolio, the feed, the API
        and the sitemap each ask for it)."""
        return self.loaded.results.max_date()

    @cached_property
    def judged_date(self) -> date | None:
        """The newest date a business metric's status rests on (`_judged_on`: its latest
        value, or the pair of the lift that judges it), else that of the newest result of
        any metric (no business metric has a value: rule MC104's case): what staleness
        (rule MC109) is judged by. A fresh row of an ML metric, of a control arm alone, or
        of the treatment after control rows stopped, does not make the business results
        the verdict rests on any less stale. When business metrics moved (the verdict
        is *Business impact* or *Target met*), only theirs count: a flat metric's fresh
        rows hid that the one improvement the verdict rests on was ten months old. Kept
        with the cached view, as `latest_date` is."""
        business = self.by_kind("business")
        earning = [b for b in business if b.status in ("met", "improved")] or business
        days = [day for b in earning if (day := _judged_on(b)) is not None]
        return max(days) if days else self.latest_date

    @property
    def human_baseline_state(self) -> Literal["done", "waived", "missing"]:
        hb = self.charter.human_baseline
        if hb is None:
            return "missing"
        return "waived" if hb.is_waived else "done"


def _judged_on(metric: MetricView) -> date | None:
    """The date a metric's status rests on: its latest value's, or, when that is a row of
    the compared arm and the status rests on the lift of an older pair (the arm's rows
    go on, control's stopped), that pair's, as when it was judged at an older pair by
    its move against control (no lift: the minimum detectable effect; `move_date`). A
    production row after the rollout keeps its own date: it is held against the lift at
    every build (`_lift_stands`)."""
    if metric.latest is None:
        return None
    day = metric.latest.row.date
    arm = metric.latest.row.variant
    if metric.lift is not None and rests_on_lift(metric) and arm is not None:
        return min(day, metric.lift.date)
    if metric.move_date is not None:  # judged at an older pair, by its move (`_judged`)
        return min(day, metric.move_date)
    if metric.pair_date is not None:
        # The arm's rows go on after control's stopped, giving the status the newest pair
        # gave (no `n` or `std`, so no lift): the experiment's news is as old as that
        # pair (check.md, MC109). Rows that give another status are news of their own.
        return min(day, metric.pair_date)
    return day


def rests_on_lift(metric: MetricView) -> bool:
    """Whether the metric's status rests on its experiment lift: a guardrail's when it is
    judged against control (not against the baseline after a rollout); another metric's
    unless a later production value overruled the lift (analyze._lift_stands), when it
    rests on the move against the baseline instead."""
    if metric.lift is None:
        return False
    if metric.kind == "guardrail":
        return metric.move_reference == "control"
    return metric.move_reference == "control" and metric.move_interval is not None


class LazyView(CharterView):
    """A `CharterView` as read back from the cache (generator/reuse.py): its charter
    (`LazyLoaded`), verdict, latest date, the date staleness is judged by, its
    metrics' original targets and whether a guardrail is breached at once; its
    metrics' views, like the charter's model and rows, unpickled from `Stored` when first
    asked for. A build after an edit of one charter reads the others' outlines, verdicts
    and keys, and unpickles only those whose page or charts are made again and those
    that claim a catalogued metric (portfolio.catalogued_metrics)."""

    def __init__(  # not the dataclass's __init__
        self,
        loaded: LazyLoaded,
        verdict: Verdict,
        latest_date: date | None,
        judged_date: date | None,
        originals: tuple[Originals, ...],
        breached: bool,
    ) -> None:
        self.__dict__.update(
            loaded=loaded,
            verdict=verdict,
            latest_date=latest_date,
            judged_date=judged_date,
            _originals=originals,
            _breached=breached,
        )

    @property
    def metrics(self) -> list[MetricView]:
        found = self.__dict__.get("_metrics")
        if found is None:
            found = self.loaded.__dict__["_stored"].parts()[2]
        return found  # type: ignore[no-any-return]

    @metrics.setter
    def metrics(self, value: list[MetricView]) -> None:
        self.__dict__["_metrics"] = value

    @property
    def any_breached(self) -> bool:
        if "_metrics" in self.__dict__:
            return super().any_breached
        return bool(self.__dict__["_breached"])

    @property
    def moved_goalposts(self) -> str:
        if "_metrics" in self.__dict__:  # set by the history
            return super().moved_goalposts
        return repr(list(self.__dict__["_originals"]))

    def __copy__(self) -> LazyView:
        """A shallow copy, still lazy (a build's own copy: reuse.Reuse.load)."""
        copied = LazyView.__new__(LazyView)
        copied.__dict__.update(self.__dict__)
        return copied

    def __reduce__(self) -> tuple[Any, ...]:
        from .reuse import _lazy_view  # pickled as the cache keeps a view, by any pickler

        return _lazy_view(self)


# Named as the classes they stand for: a message (a template's error, say) reads the same
# whether a charter was read back from the cache or loaded anew. Never pickled by name.
LazyView.__name__ = LazyView.__qualname__ = CharterView.__name__


def lazy_view(
    id: str,
    path: str,
    doc: Document,
    outline: Outline,
    verdict: Verdict,
    latest_date: date | None,
    judged_date: date | None,
    originals: tuple[Originals, ...],
    breached: bool,
    blob: bytes,
) -> LazyView:
    """A view pickled by `reuse._lazy_view`, read back."""
    loaded = LazyLoaded(id, path, doc, outline, Stored(blob))
    return LazyView(loaded, verdict, latest_date, judged_date, originals, breached)


def control_codes(table: ResultTable) -> set[int]:
    """The codes of the variants in `table` that are control arms."""
    strings = table.store.strings
    return {code for code in set(table.variant_codes()) if is_control(strings[code])}


def latest_row(rows: Sequence[Result], production: bool = True) -> Result | None:
    """The newest observation of where the metric stands with the model: a production row
    (once rolled out, see `production`) or a row of the arm compared with control
    (`treatment_variant`); on the same date a production row wins. Beside a control arm,
    other variants are drawn and listed but never give the latest value (which of them
    would be a guess: `zz-pilot` used to win over `treatment` by its name); without one,
    the newest row of any variant does (the compared arm first on a date). With
    `production` False (a charter not rolled out: production is the world without the
    model), beside a control arm only the compared arm gives the latest value."""
    table = as_table(rows)
    store = table.store
    arm = treatment_variant(table)
    compared = store.find(arm) if arm is not None else None
    controls = control_codes(table)
    # Without a control arm nothing is compared: any variant's newest row is the latest.
    wanted = {store.find(None), compared} - {None} if controls else None
    if controls and compared is not None and not production:
        wanted = {compared}
    best: tuple[int, bool, bool, str] | None = None
    at = -1
    for pos, (day, code) in enumerate(zip(table.ordinals(), table.variant_codes(), strict=True)):
        if code in controls or (wanted is not None and code not in wanted):
            continue
        name = store.strings[code]
        key = (day, name is None, code == compared, name or "")
        if best is None or key > best:
            best, at = key, pos
    return table[at] if best is not None else None


def _arm(store: RowStore, i: int) -> Arm:
    """The arm of the row at position `i` of `store`."""
    lower, upper, std = store.lower[i], store.upper[i], store.std[i]
    return Arm(
        value=store.value[i],
        n=store.n_at(i),
        std=None if std != std else std,
        lower=None if lower != lower else lower,
        upper=None if upper != upper else upper,
    )


def treatment_variant(rows: Sequence[Result]) -> str | None:
    """The arm compared with control: `treatment` if present, else the only other variant
    (results.py refuses two or more beside a control arm with none named `treatment`);
    without a control arm, the first in alphabetical order, ignoring case (`alpha` before
    `Zeta`), which then decides what is drawn first and, of the rows of the newest date,
    which is the latest value (the one judged)."""
    names = sorted(
        {v for v in as_table(rows).variant_names() if v and not is_control(v)},
        key=lambda name: (name.casefold(), name),
    )
    if not names:
        return None
    return next((n for n in names if n.strip().lower() == TREATMENT), names[0])


def paired_rows(table: ResultTable, arm: str | None) -> tuple[dict[int, int], list[int]]:
    """The control row of each date (by store position; the last one read wins), and the
    positions in `table` of the rows of `arm` on a date with a control row."""
    controls = control_codes(table)
    days, codes = table.ordinals(), table.variant_codes()
    control = {
        day: i
        for day, code, i in zip(days, codes, table.positions, strict=True)
        if code in controls
    }
    wanted = table.store.find(arm) if arm is not None else None
    if wanted is None:
        return control, []
    paired = [
        p for p, (d, c) in enumerate(zip(days, codes, strict=True)) if c == wanted and d in control
    ]
    return control, paired


def production_after(table: ResultTable, day: int) -> list[int]:
    """The positions in `table` of its production rows (no variant) dated after the day
    number `day`, oldest first: a guardrail's rows after its experiment (`guardrail_move`,
    and the chart's limit, `charts.spec.tolerance_of`)."""
    return rows_after(table, None, day)


def rows_after(table: ResultTable, variant: str | None, day: int) -> list[int]:
    """The positions in `table` of the rows of `variant` (None: production) dated after
    the day number `day`, oldest first."""
    code = table.store.find(variant)
    if code is None:
        return []
    found = [
        (d, p)
        for p, (d, c) in enumerate(zip(table.ordinals(), table.variant_codes(), strict=True))
        if c == code and d > day
    ]
    return [p for _, p in sorted(found)]


def unpaired_reference(baseline: float | None, control: float) -> tuple[float, str]:
    """What a guardrail's row of the compared arm dated after its last pair (its control
    row not in yet, or left out) is judged against: the baseline, else the control arm's
    value of that last pair. A bad week never hides behind an older week's pair."""
    return (baseline, "baseline") if baseline is not None else (control, "control")


def lift_history(rows: Sequence[Result], unit: str) -> tuple[LiftHistory, int]:
    """Lifts on every date on which both control and the treatment arm have a row, and
    the day number of the latest such date (0 without one), with a lift or not."""
    table = as_table(rows)
    arm = treatment_variant(table)
    if arm is None:
        return LiftHistory(""), 0
    control, paired = paired_rows(table, arm)
    store = table.store
    history = LiftHistory(arm)
    for p in paired:
        i = table.positions[p]
        day = store.date[i]
        computed = lift(_arm(store, control[day]), _arm(store, i), unit)
        if computed is not None:
            history.append(date.fromordinal(day), computed)
    days = history.date
    if any(days[k] > days[k + 1] for k in range(len(days) - 1)):  # rows not in date order
        order = sorted(range(len(days)), key=days.__getitem__)
        history = LiftHistory(arm, (history[k] for k in order))
    ordinals = table.ordinals()
    return history, max((ordinals[p] for p in paired), default=0)


def wrong_side(direction: m.Direction, baseline: float | None, target: float | None) -> bool:
    """Whether `target` is not beyond `baseline` in the metric's good direction (rule MC106):
    such a target is met before any work, or asks for the metric to get worse."""
    if baseline is None or target is None:
        return False
    return target <= baseline if direction == "increase" else target >= baseline


def _lift_stands(
    current: DatedLift | None,
    newest_pair: int,
    latest: Result | None,
    baseline: float | None,
    direction: m.Direction,
    ended_after: int | None,
) -> bool:
    """Whether the experiment's lift still judges the metric. Once the experiment is
    over (`experiment_over`: rolled out, and the latest value a production row at
    least a cadence after the last pair, day number `newest_pair`), a latest value that has
    gone back to the baseline's side of what the lift showed (not better than the
    baseline after a significant gain, not worse after a significant loss) overrules
    it: the metric is then judged as it stands now, against the baseline. A lift with
    no such value, a flat one, or one without a baseline, stands; so does a lift beside
    production rows recorded while the experiment goes on, and a later row of the arm
    alone (the running experiment whose control row is not in yet)."""
    if current is None:
        return False
    if baseline is None or latest is None or latest.row.variant is not None:
        return True
    if not experiment_over(newest_pair, latest.row.date.toordinal(), ended_after):
        return True
    lf = current.lift
    if not lf.significant:  # no gain nor loss shown (`Lift.significant`)
        return True
    lo, hi = sorted((_good(lf.ci_low, direction), _good(lf.ci_high, direction)))
    now = _good(latest.row.value - baseline, direction)
    return not ((lo > 0 and now <= 0) or (hi < 0 and now >= 0))


def experiment_over(last_pair: int, production: int, ended_after: int | None) -> bool:
    """Whether a production row on day number `production` shows the experiment whose
    last pair (or lift) is on day number `last_pair` over, so that the row judges the
    metric as it stands: the charter is rolled out (`ended_after` is not None: see
    `analyze_charter`) and the row is at least `ended_after` days (a cadence at its
    shortest) after the pair, so a pair would have come by then. Before that,
    production rows recorded beside the experiment (a holdout that goes on, daily
    figures between weekly pairs) would switch the judgement at every row."""
    return ended_after is not None and production - last_pair >= ended_after


def _good(delta: float, direction: m.Direction) -> float:
    """A change expressed so that positive is good."""
    return delta if direction == "increase" else -delta


def mde_threshold(
    mde: m.MinimumDetectableEffect | None, metric_id: str, reference: float | None
) -> float | None:
    """The minimum detectable effect of `metric_id` in its unit, if the plan gives one."""
    if mde is None or mde.metric != metric_id:
        return None
    if mde.absolute is not None:
        return mde.absolute
    if mde.relative is not None and reference is not None:
        return abs(reference) * mde.relative
    return None


def metric_status(
    *,
    direction: m.Direction,
    rows: Sequence[Result],
    latest: Result | None,
    target: float | None,
    baseline: float | None,
    current_lift: DatedLift | None,
    mde: float | None,
    unit: str = "",
    ml: bool = False,
) -> tuple[Status, float | None, str | None, tuple[float, float] | None]:
    """Status of a metric, with the move it rests on (good-positive), its reference and CI.

    The evidence, strongest first: the experiment lift's 95% interval; else the
    latest row's own interval against the baseline (its `lower` and `upper`; for an ML
    metric, `ml`, also the one its chart draws from its `n`, and `std`, in `unit`
    (`stats.arm_interval`), for a production row or a row of the one arm it is measured
    in, with no control arm, as how often agents take a suggestion); else a move of at
    least the minimum detectable effect against the control arm or the baseline. Without
    any of these a move is not counted as evidence (`flat`). A metric at its target is
    `met`, unless the evidence against control says the model made it worse.
    """
    if latest is None:
        return "no-results", None, None, None
    if target is not None and reached(target, latest.row.value, direction):
        status: Status = "met"
    else:
        status = "flat"
    if current_lift is not None:
        lf = current_lift.lift
        lo, hi = sorted((_good(lf.ci_low, direction), _good(lf.ci_high, direction)))
        move = _good(lf.absolute, direction)
        # Significant: the interval excludes 0 and p < 0.05 (`Lift.significant`), so the
        # status never says a move the printed p-value does not.
        better, worse = lf.significant and lo > 0, lf.significant and hi < 0
        # A target reached while the model does significantly worse than control (both
        # arms moved, by the season, say) is no success of the model's: `worse`.
        if status != "met" or worse:
            status = "improved" if better else "worse" if worse else "flat"
        return status, move, "control", (lo, hi)
    table = as_table(rows)
    codes = control_codes(table)
    control = _control_row(table, codes, latest)
    found = _reference(table, control, latest, baseline, unit)
    if found is None:
        return status, None, None, None
    reference, label, few = found
    # Against the control row of its date with no lift: the arms' measures of noise (`n`
    # and `std`, an interval) could not be put together (an arm of n = 1, an interval
    # beside a `std`), so the move is no evidence, as with too few customers. The minimum
    # detectable effect judges only arms without any: `control 1` against `treatment 2`
    # with `std` 100 read *Business impact* at n = 1 and *No impact* at n = 2.
    few = few or (label == "control" and _noise_unused(table, control, latest))
    move = _good(latest.row.value - reference, direction)
    interval: tuple[float, float] | None = None
    row = latest.row
    lower, upper = row.lower, row.upper
    if ml and lower is None and upper is None and _one_arm(table, codes, row.variant):
        # The interval its chart draws from its n (and std): a model's score on a sample.
        # A business metric's n is not: against a baseline of another time its sampling
        # interval leaves out how the metric drifts (season, mix), and would count a
        # move smaller than the plan's minimum detectable effect as evidence.
        lower, upper = arm_interval(Arm(row.value, n=row.n, std=row.std), unit) or (None, None)
    # An interval of zero width measures no noise: it is no evidence (as in stats.lift).
    if label == "baseline" and lower is not None and upper is not None and upper > lower:
        lo, hi = sorted((_good(lower - reference, direction), _good(upper - reference, direction)))
        interval = (lo, hi)
        if status != "met":
            status = "improved" if lo > 0 else "worse" if hi < 0 else "flat"
    elif mde is not None and not few and reaches_effect(abs(move), mde):
        if status != "met":
            status = "improved" if move > 0 else "worse"
        elif label == "control" and move < 0:
            status = "worse"  # at its target, yet worse than control by the MDE (above)
    return status, move, label, interval


def _reference(
    table: ResultTable, control: int | None, latest: Result, baseline: float | None, unit: str
) -> tuple[float, str, bool] | None:
    """What `latest` is compared with when no lift judges it: the control row of its date
    (its position `control`, `_control_row`), else the baseline; with whether its sample
    is too few to tell them apart."""
    row = Arm(latest.row.value, n=latest.row.n)
    if control is not None:
        reference, label = table.store.value[control], "control"
        if table.store.n[control]:
            # Proportions of too few customers for a test (hence no lift): the sample
            # says nothing, so no move between the arms is evidence, however large.
            return reference, label, too_few(Arm(reference, n=table.store.n[control]), row, unit)
    elif baseline is not None:
        reference, label = baseline, "baseline"
    else:
        return None
    # Nor a row whose own sample is too few to tell from what it is compared with (a
    # baseline, a control value without `n`): its `n` can say "no evidence", though a
    # business metric's `n` is no evidence of a move by itself (`metric_status`).
    return reference, label, too_few_against(row, reference, unit)


def _noise_unused(table: ResultTable, control: int | None, latest: Result) -> bool:
    """Whether `latest` or the control row of its date (at `control`) measures its noise
    (an `n` with a `std`, an interval of some width): with no lift between them, a
    measure that went unused. A `std` without `n` is the spread of single units, not the
    value's noise."""
    row = latest.row
    if (row.std is not None and row.n is not None) or (
        row.lower is not None and row.upper is not None and row.upper > row.lower
    ):
        return True
    if control is None:
        return False
    store = table.store
    measured = store.n[control] > 0 and not math.isnan(store.std[control])
    return measured or store.lower[control] < store.upper[control]  # NaN < x is False


def _control_row(table: ResultTable, codes: set[int], latest: Result) -> int | None:
    """The position of the control arm's row on `latest`'s date, if it has one."""
    day = latest.row.date.toordinal()
    return next(
        (
            i
            for d, c, i in zip(
                table.ordinals(), table.variant_codes(), table.positions, strict=True
            )
            if d == day and c in codes
        ),
        None,
    )


def _one_arm(table: ResultTable, controls: set[int], variant: str | None) -> bool:
    """Whether a row of `variant` is where the metric stands: a production row, or a row
    of the one arm the metric is measured in (no control arm, no other arm)."""
    if variant is None:
        return True
    strings = table.store.strings
    arms = {code for code in set(table.variant_codes()) if strings[code] is not None}
    return not controls and len(arms) == 1


# Statuses from worst to best, for the worse of two judgements (`_judged`).
_WORST_FIRST: tuple[Status, ...] = ("worse", "flat", "improved", "met")


Judgement = tuple[Status, float | None, str | None, tuple[float, float] | None]


# A metric's judgement, whether its target counts as met, the date of the pair it was
# judged at, and the pair's date when its latest arm row gave the pair's status (`_judged`).
Judged = tuple[Judgement, bool, date | None, date | None]

# A guardrail's move in its good direction, against what, the date after which production
# rows are judged, and the value it was judged against (`guardrail_move`).
Moved = tuple[float | None, str | None, date | None, float | None]


def _judged(
    metric: m.BusinessMetric | m.MLMetric,
    rows: ResultTable,
    latest: Result | None,
    goal: float | None,
    baseline: float | None,
    judging: DatedLift | None,
    newest_pair: int,
    mde: m.MinimumDetectableEffect | None,
    ended_after: int | None,
) -> Judged:
    """`metric_status` of a business or ML metric, whether its target may count as met,
    the date of the pair it was judged at when not its latest value, and the pair's date
    when its latest value, a row of the compared arm after that pair, gave the pair's
    status (the status is the experiment's news of that pair's date: `_judged_on`). When its latest
    value is dated after the newest date with both arms, and is a row of the compared
    arm (its control row not in yet, or left out) or a production row while the
    experiment is not over (`experiment_over`: a rolled-out charter's production beside
    the experiment), the metric is judged at that newest pair too, on the compared arm's
    value there, and keeps the worse of the two: leaving out the week's control row (the
    model 1.5 hours worse than control, and at its target) made it `met` on the
    treatment's value alone, and so did a production row of that value. Judged so, its
    target counts as met only if the arm met it at the pair too (an unpaired row at its
    target made an ML metric "met", and the charter ml-only). As a guardrail's
    bad week never hides behind an older pair (`guardrail_move`), no week without its
    control row is better than the newest pair says."""

    def judge(row: Result) -> Judgement:
        return metric_status(
            direction=metric.direction,
            rows=rows,
            latest=row,
            target=goal,
            baseline=baseline,
            current_lift=judging,
            mde=mde_threshold(mde, metric.id, baseline),
            unit=metric.unit,
            ml=isinstance(metric, m.MLMetric),
        )

    if latest is None:
        return ("no-results", None, None, None), True, None, None
    now = judge(latest)
    day = latest.row.date.toordinal()
    if not newest_pair or day <= newest_pair:
        return now, True, None, None
    if latest.row.variant is None and experiment_over(newest_pair, day, ended_after):
        # Production as it stands after the experiment: it judges alone.
        return now, True, None, None
    days = rows.ordinals()
    _, paired = paired_rows(rows, treatment_variant(rows))
    pair = next((p for p in paired if days[p] == newest_pair), None)
    if pair is None:
        return now, True, None, None
    then = judge(rows[pair])
    there = rows[pair].row
    # Judged at the pair, the target counts as met only if the arm met it there, whichever
    # of the two statuses is kept: the latest at its target, `worse` by the lift as the
    # pair was, counted as met (the API's `target_met`, an ML metric's ml-only verdict).
    met_there = goal is None or reached(goal, there.value, metric.direction)
    if _WORST_FIRST.index(then[0]) >= _WORST_FIRST.index(now[0]):
        same = then[0] == now[0] and latest.row.variant is not None
        return now, met_there, None, there.date if same else None
    return then, met_there, there.date, None


def guardrail_move(
    rows: Sequence[Result],
    baseline: float | None,
    direction: m.Direction,
    ended_after: int | None = None,
) -> Moved:
    """How far a guardrail moved in its good direction (negative = worse), against what,
    the date after which production rows are judged (see below), if any, and the value
    it was judged against (its limit is that value less the tolerance, or plus it).

    Against the control arm where results have one (the latest date with both
    arms; a newer row of the compared arm alone is judged by `unpaired_reference`),
    else against its baseline, else against its first result. After the
    rollout, production rows dated after the experiment's last pair are the
    guardrail as it stands: judged, the newest against the baseline (when there is
    one; with the arm's newest row alone when that is as new, the worse of the two), once
    the experiment is over (`experiment_over`, with `ended_after`: None
    while the charter's status is not past `experiment`, else the days of a cadence).
    """
    table = as_table(rows)
    store = table.store
    arm = treatment_variant(table)
    control, paired = paired_rows(table, arm)
    if paired:
        days = table.ordinals()
        last = table.positions[max(paired, key=days.__getitem__)]  # the first of the latest
        day = store.date[last]
        after = production_after(table, day) if baseline is not None else []
        newest = table.positions[after[-1]] if after else None
        alone = rows_after(table, arm, day)
        over = newest is not None and experiment_over(day, store.date[newest], ended_after)
        rollout = date.fromordinal(day) if over else None  # production after it is judged
        arm_move: tuple[float, str, float] | None = None
        arm_day = 0
        if alone:  # the arm's newest row has no control row beside it
            reference, label = unpaired_reference(baseline, store.value[control[day]])
            newest_alone = table.positions[alone[-1]]
            arm_move = (_good(store.value[newest_alone] - reference, direction), label, reference)
            arm_day = store.date[newest_alone]
        if over:
            assert baseline is not None and newest is not None
            judged = [(_good(store.value[newest] - baseline, direction), "baseline", baseline)]
            # The arm's newest row alone, dated on or after the newest production row, is
            # judged too, and the worse of the two decides: judged alone, a breach at
            # 130 ms hid behind production at 101 a week before (the chart marked it),
            # and judged instead, an arm row at 101 cleared production's breach at 130.
            if arm_move is not None and arm_day >= store.date[newest]:
                judged.append(arm_move)
            # The worse of the two decides; production first on a tie.
            move, label, against = min(judged, key=lambda found: found[0])
            return move, label, rollout, against
        if arm_move is not None:
            return arm_move[0], arm_move[1], None, arm_move[2]
        against = store.value[control[day]]
        return _good(store.value[last] - against, direction), "control", None, against
    latest = latest_row(table, production=ended_after is not None)
    if latest is None:
        return None, None, None, None
    if baseline is not None:
        return _good(latest.row.value - baseline, direction), "baseline", None, baseline
    first = first_result(table)
    assert first is not None  # there is a latest row, so a row outside the control arm
    against = first.row.value
    return _good(latest.row.value - against, direction), "first result", None, against


def first_result(rows: Sequence[Result]) -> Result | None:
    """The oldest row outside the control arm: what a guardrail without a control arm or
    a baseline is judged against (the first of its kind read, on a date with several)."""
    table = as_table(rows)
    codes = control_codes(table)
    others = [p for p, c in enumerate(table.variant_codes()) if c not in codes]
    if not others:
        return None
    return table[min(others, key=table.ordinals().__getitem__)]


def _judged_by_plan(
    metric: m.BusinessMetric | m.MLMetric,
    rows: ResultTable,
    latest: Result | None,
    goal: float | None,
    baseline: float | None,
    current: DatedLift | None,
    newest_pair: int,
    mde: m.MinimumDetectableEffect | None,
    ended_after: int | None,
    cadence_read: bool,
) -> Judged:
    """`_judged` with the lift that still stands (`_lift_stands`), the experiment over
    `ended_after` days after its last pair (None: not rolled out).

    With a cadence the generator does not read (`weekly (Mondays)`, `bi-weekly`), whether
    the experiment is over is not known, and the metric is judged both ways and keeps
    the worse, its target met only if met both ways: read as over a day after the pair
    (a guardrail's reading), a lift that showed the model worse was dropped for a
    production row at the target (the verdict then read target-met); read as going on,
    a production row back past the baseline hid behind a lift that showed a gain."""

    def judged(over_after: int | None) -> Judged:
        stands = _lift_stands(current, newest_pair, latest, baseline, metric.direction, over_after)
        judging = current if stands else None
        return _judged(metric, rows, latest, goal, baseline, judging, newest_pair, mde, over_after)

    kept = judged(ended_after)
    if latest is None or ended_after is None or cadence_read:
        return kept
    going_on = judged(None)
    if _WORST_FIRST.index(going_on[0][0]) < _WORST_FIRST.index(kept[0][0]):
        kept = going_on
    return kept[0], kept[1] and going_on[1], kept[2], kept[3]


def _guardrail_judged(
    rows: ResultTable,
    baseline: float | None,
    direction: m.Direction,
    ended_after: int | None,
    cadence_read: bool,
) -> Moved:
    """`guardrail_move`; with a cadence the generator does not read, whether the
    experiment is over is not known: judged both ways, the worse move decides, as for
    the other metrics (`_judged_by_plan`). Read as over a day after the pair, production
    at the baseline three days on cleared a breach the pair showed."""
    found = guardrail_move(rows, baseline, direction, ended_after)
    if ended_after is None or cadence_read:
        return found
    going_on = guardrail_move(rows, baseline, direction, None)
    if going_on[0] is not None and (found[0] is None or going_on[0] < found[0]):
        return going_on
    return found


def _guardrail_status(
    metric: m.Guardrail,
    rows: ResultTable,
    latest: Result | None,
    ended_after: int | None,
    cadence_read: bool,
) -> tuple[Status, float | None, str | None, date | None, bool, float | None]:
    """A guardrail's status, move, what it moved against, the date after which production
    rows are judged, whether it is breached, and the limit it was judged by."""
    baseline = metric.baseline.value if metric.baseline else None
    tolerance = metric.tolerance.value
    move, reference, rollout, against = _guardrail_judged(
        rows, baseline, metric.direction, ended_after, cadence_read
    )
    status: Status = "no-results" if latest is None else "flat"
    breached = False
    if move is not None:
        breached = beyond_tolerance(-move, tolerance)
        status = "worse" if breached else "flat"
    limit = tolerance_limit(against, tolerance, metric.direction) if against is not None else None
    return status, move, reference, rollout, breached, limit


def _view(
    kind: Kind,
    metric: m.BusinessMetric | m.MLMetric | m.Guardrail,
    rows: ResultTable,
    human: dict[str, float],
    mde: m.MinimumDetectableEffect | None,
    ended_after: int | None,
    cadence_read: bool = True,
) -> MetricView:
    baseline: float | None = metric.baseline.value if metric.baseline else None
    target: float | None = None
    drives: tuple[str, ...] = ()
    tolerance: float | None = None
    if isinstance(metric, m.BusinessMetric):
        target = metric.target.value
    elif isinstance(metric, m.MLMetric):
        target = metric.target.value if metric.target else None
        drives = tuple(metric.drives)
    else:
        tolerance = metric.tolerance.value
    latest = latest_row(rows, production=ended_after is not None)
    prog = met = None
    # A target on the wrong side of the baseline (MC106) is met from the start: never met,
    # so no typo or `lint.disable` fakes a verdict, and no progress ("-40% of the way").
    goal = None if wrong_side(metric.direction, baseline, target) else target
    if latest is not None and target is not None:
        met = goal is not None and reached(goal, latest.row.value, metric.direction)
        if baseline is not None and goal is not None:
            prog = progress(baseline, goal, latest.row.value)
    # The lift of the newest pair, or none: a newer pair whose lift cannot be computed
    # (no spread, too few customers) is not judged by an older week's lift.
    lifts, newest_pair = lift_history(rows, metric.unit)
    current = lifts[-1] if lifts and lifts.date[-1] == newest_pair else None
    breached = False
    interval: tuple[float, float] | None = None
    rollout: date | None = None
    move_date: date | None = None
    pair_date: date | None = None
    limit: float | None = None
    if isinstance(metric, m.Guardrail):
        judged = _guardrail_status(metric, rows, latest, ended_after, cadence_read)
        status, move, reference, rollout, breached, limit = judged
    else:
        kept = _judged_by_plan(
            metric, rows, latest, goal, baseline, current, newest_pair, mde, ended_after,
            cadence_read,
        )  # fmt: skip
        (status, move, reference, interval), met_there, move_date, pair_date = kept
        met = met and met_there
    return MetricView(
        id=metric.id,
        kind=kind,
        name=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        definition=metric.definition,
        baseline=baseline,
        target=target,
        human=human.get(metric.id),
        rows=rows,
        latest=latest,
        progress=prog,
        met=met,
        drives=drives,
        tolerance=tolerance,
        lift=current,
        lifts=lifts,
        status=status,
        move=move,
        move_reference=reference,
        move_interval=interval,
        move_date=move_date,
        pair_date=pair_date,
        breached=breached,
        rollout=rollout,
        limit=limit,
    )


def verdict(view: CharterView) -> Verdict:
    """The charter's verdict: the first rule that applies, in the documented order."""
    business = view.by_kind("business")
    moved = {"met", "improved"}
    if business and all(b.status == "met" for b in business):
        return "target-met"
    if any(b.status in moved for b in business):
        return "business-impact"
    for ml in view.by_kind("ml"):
        if ml.met and not any(
            (d := view.metric(mid)) is not None and d.status in moved for mid in ml.drives
        ):
            return "ml-only"
    # A result is a row other than a control arm's (a metric of control rows alone has
    # nothing to compare them with: its status is "no-results").
    if any(b.latest is not None for b in business):
        return "no-impact"
    if any(x.latest is not None for x in view.metrics):
        return "no-business-results"
    return "no-results"


def analyze_charter(loaded: LoadedCharter) -> CharterView:
    """Derive every metric's series, latest value, progress, lift and status; then the verdict."""
    c = loaded.charter
    human: dict[str, float] = {}
    if c.human_baseline is not None:
        human = {r.metric: r.value for r in c.human_baseline.results}
    by_metric = loaded.results.group("metric")
    view = CharterView(loaded)
    mde = c.measurement.minimum_detectable_effect
    # When production rows after an experiment judge its guardrails (see guardrail_move).
    ended_after = None
    read = m.cadence_days(c.measurement.cadence, shortest=True)
    if c.status in ROLLED_OUT:
        ended_after = max(1, read or 1)
    for entry in c.metrics():
        rows = by_metric.get(entry.metric.id) or _no_rows()
        view.metrics.append(
            _view(entry.kind, entry.metric, rows, human, mde, ended_after, read is not None)
        )
    view.verdict = verdict(view)
    # Asked for by the feed, the API and the sitemap over every charter on every build:
    # read now, they are kept with the view in the cache (generator/reuse.py).
    for metric in view.metrics:
        _ = metric.newest
    _ = view.latest_date, view.judged_date
    return view


def analyze_project(project: Project) -> list[CharterView]:
    """Every charter of the project analysed, in the project's order."""
    return [analyze_charter(loaded) for loaded in project.charters]
