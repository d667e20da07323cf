"""The exercises, in learning order: concept exercises first, then one per driver."""

from __future__ import annotations

from ._core import Exercise
from .ex01_pick_action import EXERCISE as EX01
from .ex02_mapped_refcount import EXERCISE as EX02
from .ex03_private_data import EXERCISE as EX03
from .ex04_compat_layer import EXERCISE as EX04
from .ex10_vme_user import EXERCISE as EX10

EXERCISES: dict[str, Exercise] = {ex.nn: ex for ex in (EX01, EX02, EX03, EX04, EX10)}


def get(nn: str | int) -> Exercise:
    """The exercise numbered ``nn`` ("01", "1" and 1 all work)."""
    key = f"{int(nn):02d}" if str(nn).isdigit() else str(nn)
    if key not in EXERCISES:
        known = ", ".join(EXERCISES)
        raise KeyError(f"no exercise {nn!r}; known: {known}")
    return EXERCISES[key]
