"""`deskctl stats`: per day sitting and standing time, changes, longest sitting bout, cues, steps.

Design: reads the history read-only (never creates it; the service is its one writer) and hands one
desk's events to the pure `daily_stats`. The days are the N local days ending with `--to` (default
today) in `--tz` (default the system's zone); the latest posture or session event and the latest
schedule event from before the first day come along, so a bout already open at that midnight
counts. `--desk` picks the desk; without it, the only desk with history. `--demo` reads the
simulated runs' history instead, as of the demo clock's last moment. Output: a table with a bar per
day (sitting vs standing vs away) and totals, fitted to the terminal's width; `--json` the
documented object (`deskctl.core.stats.stats_json`); `--csv` a header and a row per day. No history
prints one sentence (the JSON and CSV still print, all zeros) and exits 0. Rows that cannot be read
are skipped, and how many is said on stderr; a file that cannot be read at all is one sentence and
exit 1. An open bout of a service that died ends at its last heartbeat (see `daily_stats`). Heavy
imports stay inside the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from deskctl.adapters.history_store import Store
    from deskctl.core.stats import DayStats, Event

_FRAMING = ("posture", "session")  # with the last schedule event: what an open bout needs
_GAP = 2  # the spaces between two columns
_BAR_MIN = 12  # fewer cells than this tell nothing: columns give way first
_BAR_MAX = 48


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
    demo: Annotated[
        bool,
        typer.Option("--demo", help="The simulated runs' history (kept apart from yours)."),
    ] = False,
) -> None:
    """Sitting and standing time, changes, longest sitting bout and cues, per day."""
    import contextlib
    import sys
    from datetime import date, datetime, time, timedelta

    from deskctl.adapters.history_store import Store, default_path, demo_path
    from deskctl.clocks.localzone import local_tz
    from deskctl.core.stats import DayStats, daily_stats, stats_json
    from deskctl.errors import InputError

    if as_json and as_csv:
        raise InputError("choose one of --json and --csv")
    tz = local_tz(tz_name)
    try:
        chosen = None if to is None else date.fromisoformat(to)
    except ValueError:
        raise InputError(f"{to!r} is not a date; write it like 2026-11-30") from None

    path = demo_path() if demo else default_path()
    now = datetime.now(tz)
    events: list[Event] = []
    alive_at = None
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(Store(path, readonly=True)) if path.exists() else None
        name = _which_desk(desk, store.desks() if store else [])
        if store is not None and demo:
            now = _demo_now(store, name, now)  # as of the demo clock's last moment
        last = now.astimezone(tz).date() if chosen is None else chosen
        first = last - timedelta(days=days - 1)
        if store is not None:
            since = datetime.combine(first, time(0), tzinfo=tz)
            until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
            framing = [store.latest(name, since, kinds) for kinds in (_FRAMING, ("schedule",))]
            events = [e for e in framing if e] + store.events(name, since, until)
            alive_at = _heartbeat(store, name)
            if store.unreadable:
                rows_word = "row" if store.unreadable == 1 else "rows"
                print(
                    f"deskctl: skipped {store.unreadable} {rows_word} of the history that could "
                    "not be read.",
                    file=sys.stderr,
                )
    rows = daily_stats(events, first, last, tz, now, alive_at=alive_at)

    if as_json:
        print_json(stats_json(name, getattr(tz, "key", None) or str(tz), rows))
    elif as_csv:
        _print_csv(rows)
    elif not path.is_file():
        runs = "`deskctl run --simulate`" if demo else "`deskctl run`"
        print(f"No history yet: {runs} records it in {path}.")
    elif all(row == DayStats(row.day) for row in rows):
        print(f"Nothing recorded for desk {name!r} from {first} to {last}.")
    else:
        _draw(name, first, last, rows, " (demo)" if demo else "")


def _demo_now(store: Store, desk: str, now: datetime) -> datetime:
    """The demo clock's last moment: its last event or heartbeat (the real now if neither)."""
    from datetime import UTC, datetime

    latest = store.latest(desk, datetime(9999, 1, 1, tzinfo=UTC))
    moments = [m for m in (latest.at if latest else None, _heartbeat(store, desk)) if m]
    return max(moments, key=lambda m: m.timestamp()) if moments else now


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
    from deskctl.config.settings import DEFAULT_DESK
    from deskctl.errors import InputError

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


def _draw(desk: str, first: date, last: date, rows: Sequence[DayStats], note: str = "") -> None:
    """The table, fitted to the terminal's width (`COLUMNS`): the bar takes what the numbers
    leave, between `_BAR_MIN` and `_BAR_MAX` cells; columns that would squeeze it below that are
    left out, least needed first, and named under the table."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from deskctl.cli._postures import MARK, STYLE, legend
    from deskctl.core.stats import totals
    from deskctl.core.units import format_duration
    from deskctl.core.vocab import Posture

    def dur(seconds: int) -> str:
        return format_duration(seconds) if seconds else "–"

    total = totals(rows)
    every = [*rows, total]
    # (header, one cell per row and the total), in the order they are given up when narrow
    groups: list[list[tuple[str, list[str]]]] = [
        [("sitting", [dur(r.sitting_s) for r in every]),
         ("standing", [dur(r.standing_s) for r in every])],
        [("away", [dur(r.away_s) for r in every])],
        [("longest sit", [dur(r.longest_sitting_bout_s) for r in every])],
        [("changes", [str(r.changes) for r in every])],
        [("cues done", [f"{r.cues_done} of {r.cues_shown}" for r in every])],
    ]  # fmt: skip
    if any(r.steps_goal for r in rows):  # steps came in from outside (a phone, a watch)
        groups.append(
            [
                (
                    "steps",
                    [f"{r.steps:,} of {r.steps_goal:,}" if r.steps_goal else "–" for r in every],
                )
            ]
        )
    days = [f"{row.day:%a %m-%d}" for row in rows]

    def width(header: str, cells: Sequence[str]) -> int:
        return max(cell_len(text) for text in (header, *cells))

    console = Console(highlight=False)
    used = width("day", [*days, "total"]) + _GAP  # the day, then the bar's gap
    shown: list[tuple[str, list[str]]] = []
    left_out: list[str] = []
    for group in groups:
        more = sum(width(header, cells) + _GAP for header, cells in group)
        if not left_out and console.width - used - more >= _BAR_MIN:
            shown += group
            used += more
        else:
            left_out += [header for header, _ in group]
    cells = max(_BAR_MIN, min(_BAR_MAX, console.width - used))

    console.print(Text.assemble((desk, "bold"), f" · {first} to {last}{note}"))
    widest_s = max(r.sitting_s + r.standing_s + r.away_s for r in rows) or 1
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("day", no_wrap=True)
    table.add_column("", no_wrap=True, min_width=cells, max_width=cells)
    for header, _ in shown:
        table.add_column(header, justify="right", no_wrap=True)
    for n, row in enumerate(rows):
        bar = Text()
        done_s = 0
        for posture, seconds in (
            (Posture.SIT, row.sitting_s), (Posture.STAND, row.standing_s),
            (Posture.AWAY, row.away_s),
        ):  # fmt: skip
            start = round(cells * done_s / widest_s)
            done_s += seconds
            bar.append(MARK[posture] * (round(cells * done_s / widest_s) - start), STYLE[posture])
        table.add_row(days[n], bar, *(values[n] for _, values in shown))
    table.add_section()
    table.add_row("total", "", *(values[-1] for _, values in shown), style="bold")
    console.print(table)
    key = legend()
    moves = f"{total.moves} moves, {total.obstructions} stopped by an obstruction"
    key.append(f"· {moves}", style="dim")
    console.print(key)
    if left_out:
        console.print(
            f"Left out at this width: {', '.join(left_out)} (a wider terminal, --json or --csv "
            "show them).",
            style="dim",
        )
