"""The exercises, in learning order: concept exercises first, then one per driver."""

from __future__ import annotations

from ._core import Exercise
from .ex01_pick_action import EXERCISE as EX01
from .ex02_mapped_refcount import EXERCISE as EX02
from .ex03_private_data import EXERCISE as EX03
from .ex04_compat_layer import EXERCISE as EX04
from .ex05_hpet import EXERCISE as EX05
from .ex06_open_dice import EXERCISE as EX06
from .ex07_mtdchar import EXERCISE as EX07
from .ex08_stm import EXERCISE as EX08
from .ex09_afs import EXERCISE as EX09
from .ex10_vme_user import EXERCISE as EX10
from .ex11_hv_vmbus import EXERCISE as EX11
from .ex12_uio import EXERCISE as EX12
from .ex13_uio_hv_generic import EXERCISE as EX13
from .ex14_target_core_user import EXERCISE as EX14

EXERCISES: dict[str, Exercise] = {ex.nn: ex for ex in (
    EX01, EX02, EX03, EX04, EX05, EX06, EX07, EX08, EX09, EX10, EX11, EX12, EX13, EX14)}


def get(nn: str | int) -> Exercise:
    """The exercise numbered ``nn`` ("01", "1" and 1 all work)."""
    key = f"{int(nn):02d}" if str(nn).isdigit() else str(nn)
    if key not in EXERCISES:
        known = ", ".join(EXERCISES)
        raise KeyError(f"no exercise {nn!r}; known: {known}")
    return EXERCISES[key]
