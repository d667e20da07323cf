"""The exercises, in learning order: concept exercises first, then one per driver.

:data:`EXERCISES` maps ``"NN"`` to its :class:`Exercise`, importing an exercise's module
(and so its kit) only when it is first looked up: checking one exercise from the shell
loads one kit, not fourteen (the check's start-up time is most of its run time).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ._core import Exercise

#: ``NN`` -> the module under ``mmaplab.exercises`` that defines its ``EXERCISE``.
MODULES: dict[str, str] = {
    "01": "ex01_pick_action", "02": "ex02_mapped_refcount", "03": "ex03_private_data",
    "04": "ex04_compat_layer", "05": "ex05_hpet", "06": "ex06_open_dice",
    "07": "ex07_mtdchar", "08": "ex08_stm", "09": "ex09_afs", "10": "ex10_vme_user",
    "11": "ex11_hv_vmbus", "12": "ex12_uio", "13": "ex13_uio_hv_generic",
    "14": "ex14_target_core_user",
}


class _Exercises(Mapping[str, Exercise]):
    """``{NN: Exercise}`` in learning order, each imported on first access."""

    def __init__(self) -> None:
        self._loaded: dict[str, Exercise] = {}

    def __getitem__(self, nn: str) -> Exercise:
        ex = self._loaded.get(nn)
        if ex is None:
            module = importlib.import_module(f"{__package__}.{MODULES[nn]}")
            ex = self._loaded[nn] = module.EXERCISE
            assert ex.nn == nn, f"{MODULES[nn]} defines exercise {ex.nn}"
        return ex

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


EXERCISES: Mapping[str, Exercise] = _Exercises()


def get(nn: str | int) -> Exercise:
    """The exercise numbered ``nn`` ("01", "1" and 1 all work)."""
    key = f"{int(nn):02d}" if str(nn).isdigit() else str(nn)
    if key not in MODULES:
        known = ", ".join(MODULES)
        raise KeyError(f"no exercise {nn!r}; known: {known}")
    return EXERCISES[key]
