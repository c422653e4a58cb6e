"""A hostile source tree: the XSS filter-evasion corpus (tests/data/xss-corpus.txt) in every
text field of a charter, one charter per case, plus links out of the tree.

Used by the parsed-output tests (tests/integration/test_hostile_corpus.py) and the
Chromium tests (tests/browser/test_browser_hostile.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from factory import business_metric, charter_data, measurement, write_charter

CORPUS_FILE = Path(__file__).parent / "data" / "xss-corpus.txt"
# Written outside the source tree; its bytes must never reach the site.
SECRET = "SECRET-OUTSIDE-THE-TREE-7f3a"


def _cases() -> list[str]:
    cases = []
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("# "):
            continue
        cases.append(line.replace("\\n", "\n"))
    return cases


def refused(case: str) -> bool:
    """Whether the format refuses `case` in a Markdown field: it writes a character
    reference to a character text may not hold (`&#14;`), which a page would show as the
    character itself."""
    from generator.model import _check_references

    try:
        _check_references(case)
    except ValueError:
        return True
    return False


def corpus() -> list[str]:
    """The cases the format accepts in every text field: the hostile tree's charters."""
    return [case for case in _cases() if not refused(case)]


def refused_corpus() -> list[str]:
    """The cases refused in a Markdown field (tests/integration/test_hostile_corpus.py)."""
    return [case for case in _cases() if refused(case)]


def _one_line(case: str) -> str:
    return " ".join(case.split())


def hostile_charter(case: str, index: int = 0) -> dict[str, Any]:
    """A valid charter with `case` in every text field the format has; its team and tags
    end with `index`, since the corpus holds cases that differ only in case (`JaVaScRiPt`),
    which as teams of two charters would be one team written two ways (an error)."""
    line = _one_line(case)
    own = f"{line} {index}"
    # In Markdown fields, words before and after the case: a field that shows nothing is
    # refused (`shows-nothing`), a case such as `<SCRIPT SRC=…></SCRIPT>` is all tag, and
    # an unclosed `<SCRIPT` takes the words after it.
    shown = f"Before the case.\n\n{case}\n\nAfter the case."
    metric = business_metric(
        "conv",
        name=line,
        definition=case,
        unit=line,
        baseline={"value": 0.1, "source": line},
        target={"value": 0.12},
        agreed={"by": [line, "Head of " + line], "on": "2026-01-15"},
    )
    plan = measurement(
        method="ab_test",
        population=line,
        unit_of_analysis=line,
        cadence=line,
        decision_rule=shown,
        minimum_detectable_effect={"metric": "conv", "absolute": 0.01},
    )
    return charter_data(
        title=line,
        summary=shown,
        status="experiment",
        # One address (owner.email refuses any other text), of the characters it may hold
        # that mean something in HTML, URLs or Markdown.
        owner={"name": line, "email": f"o'hara+{index}/a=b{{c}}|`d`$e!g~h^i*j@example.com"},
        team=own,
        tags=[own, "tag " + own],
        links=[
            {"title": line, "url": "https://docs.example/?q=" + line.replace(" ", "+")},
            {"title": line, "url": "notes.txt?q=" + line},
        ],
        objective={"statement": shown, "context": shown},
        business_metrics=[metric],
        measurement=plan,
        human_baseline={"waived": line},
        decisions=[{"date": "2026-02-01", "decision": line, "rationale": shown}],
    )


def hostile_rows(case: str) -> list[dict[str, Any]]:
    line = _one_line(case)
    return [
        {"date": "2026-02-02", "metric": "conv", "variant": "control", "value": 0.1, "note": case},
        {"date": "2026-02-02", "metric": "conv", "variant": line, "value": 0.11, "note": line},
        {"date": "2026-02-09", "metric": "conv", "variant": line, "value": 0.115, "note": case},
    ]


def write_hostile_tree(root: Path) -> list[str]:
    """The hostile tree in `root` (site.yaml and a charter per case); returns the ids.

    Each charter also links `notes.txt` (hostile text, published as text), and its
    folder holds `outside.txt`, a link to a file outside the tree that must never be
    published. (Linking to it is refused by the loader with a located error, so the
    tree would not build: tests/integration/test_hostile_input.py tests that.)
    """
    root.mkdir(parents=True, exist_ok=True)
    secret = root.parent / "outside-secret.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    (root / "site.yaml").write_text(
        yaml.safe_dump({"title": "Hostile corpus", "description": corpus()[0]}), encoding="utf-8"
    )
    ids = []
    for index, case in enumerate(corpus()):
        cid = f"case-{index:03d}"
        write_charter(root, cid, hostile_charter(case, index), hostile_rows(case))
        folder = root / "charters" / cid
        (folder / "notes.txt").write_text(f"Notes {json.dumps(case)}\n", encoding="utf-8")
        (folder / "outside.txt").symlink_to(secret)
        ids.append(cid)
    return ids
