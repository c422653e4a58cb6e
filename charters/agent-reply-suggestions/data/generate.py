"""Write chats.csv: the raw, event-level sample that queries/weekly.sql aggregates.

One row per support chat of an A/B test of reply suggestions (50/50 by chat id),
eight weeks from Monday 2026-09-14. The numbers are generated, not real: a fixed
seed makes the file the same on every run, so `python generate.py` reproduces the
committed chats.csv byte for byte.
"""

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

SEED = 20260914
START = datetime(2026, 9, 14)
WEEKS = 8
CHATS_PER_DAY = (50, 62)  # a weekday range; weekends get half


def chats(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for day in range(WEEKS * 7):
        date = START + timedelta(days=day)
        week = day // 7
        low, high = CHATS_PER_DAY
        count = rng.randint(low, high) // (2 if date.weekday() >= 5 else 1)
        for _ in range(count):
            chat_id = 100_000 + len(rows) * 7 + rng.randint(0, 6)
            treatment = chat_id % 2 == 1
            started = date + timedelta(seconds=rng.randint(7 * 3600, 21 * 3600))
            # Agents adopt suggestions over the first weeks: acceptance and the time
            # they save grow, then level off.
            adoption = min(1.0, 0.45 + 0.08 * week)
            used = treatment and rng.random() < 0.42 + 0.2 * adoption
            minutes = rng.lognormvariate(2.55, 0.42)
            if used:
                minutes *= 0.78
            reopened = rng.random() < (0.067 if treatment else 0.061)
            rows.append(
                {
                    "chat_id": chat_id,
                    "started_at": started.isoformat(sep=" "),
                    "arm": "treatment" if treatment else "control",
                    "handle_minutes": f"{minutes:.1f}",
                    "reopened": int(reopened),
                    "suggestion_used": int(used) if treatment else "",
                }
            )
    return rows


def main() -> None:
    rows = chats(random.Random(SEED))
    path = Path(__file__).with_name("chats.csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} chats to {path}")


if __name__ == "__main__":
    main()
