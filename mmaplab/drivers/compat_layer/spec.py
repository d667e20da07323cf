"""Exercise 04: the requests the channel attribute is checked on, and the ``SPEC``.

Every scenario's ``note`` says which rule of the contract it pins (an id of
:data:`mmaplab.lab.diagnose.RULES`, in brackets).
"""

from __future__ import annotations

from ..base import DriverSpec, Scenario, child_exit_op, fault_op, fork_op, mmap_op, munmap_op
from .model import ChanDev
from .mutants import MUTANTS

__all__ = ["OPEN", "CLOSED", "SPEC"]

OPEN: tuple[Scenario, ...] = (
    Scenario("map the ring", (mmap_op(0, 4), fault_op(0), fault_op(3), munmap_op(0, 4)),
             "[compat-steps] the action maps the ring, mapped counts the user"),
    Scenario("part of the ring at an offset", (mmap_op(0, 2, offset_pages=2), fault_op(1)),
             "[range]"),
    Scenario("larger than the ring", (mmap_op(0, 5),), "[lost-check] EINVAL"),
    Scenario("fork and split", (mmap_op(0, 4), fork_op(), munmap_op(1, 1), child_exit_op(),
                                munmap_op(0, 4)), "[count-missing] open counts the copies"),
    Scenario("remap fails after the callback", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("pte_alloc", 1), note="[lost-check] the action's ENOMEM fails mmap()"),
    Scenario("mapped fails", (mmap_op(0, 2), mmap_op(0, 2)), inject=("mapped", 1),
             note="[lost-check] mapped's ENOMEM fails mmap()"),
)

CLOSED: tuple[Scenario, ...] = (
    Scenario("channel not open", (mmap_op(0, 1),), "[errno] the callback's ENODEV"),
)

SPEC = DriverSpec(
    name="compat_layer",
    kernel_files=("mm/util.c", "drivers/hv/vmbus_drv.c"),
    kernel_version="v4 series 17/21 (a made-up channel)",
    make=lambda variant: ChanDev(variant),
    scenarios=OPEN,
    mutants=MUTANTS,
)
