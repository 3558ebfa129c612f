"""What a profile's working day asks of a body: the longest time seated at a stretch, and the
time on one's feet.

Design: `profile_warnings(profile)` plans each of the profile's working days with the pure
planner (in UTC, on a fixed reference week: the rule is about the profile, not a date) and returns
one sentence per limit that some day goes past; a sound profile gets none. The limits come from
the evidence the schedule rests on (docs/profiles.md names the sources):
- sit no more than 30 minutes straight: sitting bouts of 30 minutes or more are linked to higher
  mortality (Diaz et al., Ann Intern Med 2017), and a break every 30 minutes is the advice
  (ANSES 2025). Blocks of sitting that follow each other, also across two working ranges that
  touch, are one bout; a walk away (`away`) or standing ends it.
- stand no more than 4 hours a day: the expert statement works up to 4 h/day of standing and
  light activity (Buckley et al., Br J Sports Med 2015); above 2 h each extra 30 minutes of
  standing raises the risk of circulatory trouble (Ahmadi et al., Int J Epidemiol 2024).
`standing_note(profile)` is the softer word below that limit: a profile that plans more than
about 2 hours of standing on some working day (`STANDING_NOTE_PER_DAY`, past it by more than a
minute) gets one sentence citing Ahmadi et al. 2024, since about 2 h a day is enough and more
brings its own risk; a profile past the 4-hour warning gets no note (the warning says more).
A person may choose such a profile on purpose: these are warnings and notes to show, never errors.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

from deskctl.core.planner import longest_bout, plan_day, time_in
from deskctl.core.profile import Profile
from deskctl.core.units import format_duration
from deskctl.core.vocab import Posture

__all__ = [
    "MAX_SITTING_BOUT",
    "MAX_STANDING_PER_DAY",
    "STANDING_NOTE_PER_DAY",
    "profile_warnings",
    "standing_note",
]

MAX_SITTING_BOUT = timedelta(minutes=30)
MAX_STANDING_PER_DAY = timedelta(hours=4)
STANDING_NOTE_PER_DAY = timedelta(hours=2)
_ABOUT = timedelta(minutes=1)  # "about 2 hours": a minute over is still about 2 hours
_REFERENCE_MONDAY = date(2024, 1, 1)


def _worst_day(profile: Profile) -> tuple[timedelta, timedelta]:
    """The longest sitting bout and the most standing of any working day of `profile`."""
    longest_sitting = timedelta()
    most_standing = timedelta()
    for weekday in sorted(profile.weekdays):
        blocks = plan_day(profile, _REFERENCE_MONDAY + timedelta(days=weekday), UTC)
        longest_sitting = max(longest_sitting, longest_bout(blocks, Posture.SIT))
        most_standing = max(most_standing, time_in(blocks, Posture.STAND))
    return longest_sitting, most_standing


def standing_note(profile: Profile) -> str | None:
    """One sentence when a working day of `profile` plans more than about 2 hours of standing
    (and not more than 4, which `profile_warnings` covers); else None."""
    _, most_standing = _worst_day(profile)
    if not STANDING_NOTE_PER_DAY + _ABOUT < most_standing <= MAX_STANDING_PER_DAY:
        return None
    return (
        f"profile {profile.name!r} plans up to "
        f"{format_duration(most_standing.total_seconds())} of standing in a working day; about "
        "2 hours is enough, as above 2 hours a day each extra 30 minutes of standing was linked "
        "to an 11 % higher risk of circulatory disease such as varicose veins (Ahmadi et al., "
        "Int J Epidemiol 2024)"
    )


def profile_warnings(profile: Profile) -> list[str]:
    """One sentence per health limit a working day of `profile` goes past; [] if none."""
    longest_sitting, most_standing = _worst_day(profile)
    warnings: list[str] = []
    if longest_sitting > MAX_SITTING_BOUT:
        warnings.append(
            f"profile {profile.name!r} keeps a person seated for up to "
            f"{format_duration(longest_sitting.total_seconds())} at a stretch; the advice is to "
            "get up at least every 30 minutes, as sitting bouts of 30 minutes or more are "
            "linked to poorer health"
        )
    if most_standing > MAX_STANDING_PER_DAY:
        warnings.append(
            f"profile {profile.name!r} plans up to "
            f"{format_duration(most_standing.total_seconds())} of standing in a working day; "
            "the advice is to work up to 4 hours a day at most, as long standing strains "
            "the legs and veins"
        )
    return warnings
