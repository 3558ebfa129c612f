"""What the commands that read no desk print, typer-free: `config path` and `cues list`.

Design: these run on the quick path (`_fast.py`) as well as under typer, so they import only the
standard library, deskctl's light modules and, to draw, rich. Like `service_calls.py`, a route
returns True once it has answered.
"""

from __future__ import annotations

from deskctl.core.cues import Area, Change, Cue, Kind

__all__ = ["AREA_STYLE", "config_path", "cue_time", "cues_list"]

AREA_STYLE = {
    Area.LOWER_BACK: "magenta",
    Area.HIPS: "cyan",
    Area.UPPER_BACK: "green",
    Area.NECK: "yellow",
    Area.WHOLE_BODY: "blue",
}


def config_path() -> bool:
    """Where the settings file, your profiles and cues, the history and the socket live."""
    from deskctl.config import paths

    file = paths.settings_file()
    print(f"settings  {file}{'' if file.exists() else '  (not there yet: deskctl init)'}")
    print(f"profiles  {paths.config_dir() / 'profiles'}")
    print(f"cues      {paths.config_dir() / 'cues'}")
    print(f"history   {paths.state_dir()}")
    print(f"socket    {paths.runtime_dir()}")
    return True


def cue_time(cue: Cue) -> str:
    """How long a cue takes, in words."""
    from deskctl.core.units import format_duration

    return format_duration(cue.duration_s)


def _suits(cue: Cue) -> str:
    return ", ".join(change.value for change in Change if change in cue.suits)


def cues_list(area: Area | None = None, kind: Kind | None = None, json: bool = False) -> bool:
    """The cues (shipped and the user's own), as a table or a JSON list."""
    from deskctl.cli._common import print_json
    from deskctl.config.cue_library import load_cues

    cues = [
        cue
        for cue in load_cues()
        if (area is None or cue.area is area) and (kind is None or cue.kind is kind)
    ]
    if json:
        print_json([cue.to_full_json() for cue in cues])
        return True

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not cues:
        console.print("No cue matches; `deskctl cues list` shows them all.")
        return True
    table = Table(title=f"{len(cues)} cues", title_justify="left")
    for column in ("id", "title", "area", "kind", "time", "suits"):
        table.add_column(
            column, no_wrap=column != "title", justify="right" if column == "time" else "left"
        )
    for cue in cues:
        style = AREA_STYLE[cue.area]
        table.add_row(
            cue.id,
            cue.title,
            f"[{style}]{cue.area.value}[/]",
            cue.kind.value,
            cue_time(cue),
            _suits(cue),
        )
    console.print(table)
    return True
