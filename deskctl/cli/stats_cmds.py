"""`deskctl stats`: per day sitting and standing time, changes, longest sitting bout, cues.

Design: reads the history read-only (never creates it; the service is its one writer) and hands
one desk's events to the pure `daily_stats`. The days are the N local days ending with `--to`
(default today) in `--tz` (default the system's zone); the latest posture or session event from
before the first day comes along, so a bout already open at that midnight counts. `--desk` picks
the desk; without it, the only desk with history. Output: a table with a bar per day (sitting vs
standing vs away) and totals; `--json` the documented object (`deskctl.core.stats.stats_json`);
`--csv` a header and a row per day. No history prints one sentence (the JSON and CSV still print,
all zeros) and exits 0. Rows that cannot be read are skipped, and how many is said on stderr; a
file that cannot be read at all is one sentence and exit 1. An open bout of a service that died
ends at its last heartbeat (see `daily_stats`). Heavy imports stay inside the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from deskctl.core.stats import DayStats, Event
    from deskctl.store import Store

_STYLE = {"sit": "blue", "stand": "green", "away": "yellow"}
_MARK = {"sit": "▄", "stand": "█", "away": "░"}
_BAR_CELLS = 32


@app.command()
@guard
def stats(
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="How many days, ending with --to.")
    ] = 7,
    desk: Annotated[
        str | None,
        typer.Option("--desk", help="Which desk (default: the only one with history)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV: a header, a row per day.")
    ] = False,
    to: Annotated[
        str | None, typer.Option("--to", help="The last day, YYYY-MM-DD (default: today).")
    ] = None,
    tz_name: Annotated[
        str | None, typer.Option("--tz", help="Time zone, like Europe/Berlin (default: local).")
    ] = None,
) -> None:
    """Sitting and standing time, changes, longest sitting bout and cues, per day."""
    import sys
    from datetime import date, datetime, time, timedelta

    from deskctl.core.stats import DayStats, daily_stats, stats_json
    from deskctl.errors import InputError
    from deskctl.localzone import local_tz
    from deskctl.store import Store, default_path

    if as_json and as_csv:
        raise InputError("choose one of --json and --csv")
    tz = local_tz(tz_name)
    now = datetime.now(tz)
    try:
        last = now.date() if to is None else date.fromisoformat(to)
    except ValueError:
        raise InputError(f"{to!r} is not a date; write it like 2026-11-30") from None
    first = last - timedelta(days=days - 1)

    path = default_path()
    events: list[Event] = []
    alive_at = None
    if path.exists():
        with Store(path, readonly=True) as store:
            name = _which_desk(desk, store.desks())
            since = datetime.combine(first, time(0), tzinfo=tz)
            until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
            before = store.latest(name, since, ("posture", "session"))
            events = ([before] if before else []) + store.events(name, since, until)
            alive_at = _heartbeat(store, name)
            if store.unreadable:
                rows_word = "row" if store.unreadable == 1 else "rows"
                print(
                    f"deskctl: skipped {store.unreadable} {rows_word} of the history that could "
                    "not be read.",
                    file=sys.stderr,
                )
    else:
        name = _which_desk(desk, [])
    rows = daily_stats(events, first, last, tz, now, alive_at=alive_at)

    if as_json:
        print_json(stats_json(name, getattr(tz, "key", None) or str(tz), rows))
    elif as_csv:
        _print_csv(rows)
    elif not path.is_file():
        print(f"No history yet: `deskctl run` records it in {path}.")
    elif all(row == DayStats(row.day) for row in rows):
        print(f"Nothing recorded for desk {name!r} from {first} to {last}.")
    else:
        _draw(name, first, last, rows)


def _heartbeat(store: Store, desk: str) -> datetime | None:
    """The last heartbeat of the desk's newest session, if the history has one."""
    from datetime import datetime

    from deskctl.errors import DeskError

    try:
        beat = store.get_state(desk, "heartbeat")
    except DeskError:
        return None
    return beat if isinstance(beat, datetime) and beat.utcoffset() is not None else None


def _which_desk(chosen: str | None, with_history: Sequence[str]) -> str:
    from deskctl.errors import InputError
    from deskctl.settings import DEFAULT_DESK

    if chosen is not None:
        return chosen
    if len(with_history) > 1:
        raise InputError(
            f"several desks have history ({', '.join(with_history)}); choose one with --desk NAME"
        )
    return with_history[0] if with_history else DEFAULT_DESK


def _print_csv(rows: Sequence[DayStats]) -> None:
    import csv
    import sys

    out = csv.writer(sys.stdout, lineterminator="\n")
    from deskctl.core.stats import COUNTS

    columns = ("date", *COUNTS)
    out.writerow(columns)
    for row in rows:
        line = row.as_json()
        out.writerow([line[column] for column in columns])


def _draw(desk: str, first: date, last: date, rows: Sequence[DayStats]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from deskctl.core.stats import totals
    from deskctl.core.units import format_duration

    def dur(seconds: int) -> str:
        return format_duration(seconds) if seconds else "–"

    console = Console(highlight=False)
    console.print(Text.assemble((desk, "bold"), f" · {first} to {last}"), soft_wrap=True)
    widest_s = max(r.sitting_s + r.standing_s + r.away_s for r in rows) or 1
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("day")
    table.add_column("")
    for column in ("sitting", "standing", "away", "changes", "longest sit", "cues ✓/✗"):
        table.add_column(column, justify="right")
    for row in rows:
        bar = Text()
        for posture, seconds in (
            ("sit", row.sitting_s), ("stand", row.standing_s), ("away", row.away_s),
        ):  # fmt: skip
            bar.append(_MARK[posture] * round(_BAR_CELLS * seconds / widest_s), _STYLE[posture])
        table.add_row(
            f"{row.day:%a %m-%d}",
            bar,
            dur(row.sitting_s),
            dur(row.standing_s),
            dur(row.away_s),
            str(row.changes),
            dur(row.longest_sitting_bout_s),
            f"{row.cues_done}/{row.cues_skipped}",
        )
    total = totals(rows)
    table.add_section()
    table.add_row(
        "total",
        "",
        dur(total.sitting_s),
        dur(total.standing_s),
        dur(total.away_s),
        str(total.changes),
        dur(total.longest_sitting_bout_s),
        f"{total.cues_done}/{total.cues_skipped}",
        style="bold",
    )
    console.print(table)
    legend = Text()
    for posture in ("sit", "stand", "away"):
        legend.append(_MARK[posture] * 2, _STYLE[posture]).append(f" {posture}   ")
    moves = f"{total.moves} moves, {total.obstructions} stopped by an obstruction"
    legend.append(f"· {moves}", style="dim")
    console.print(legend, soft_wrap=True)
