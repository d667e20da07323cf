"""Exercise 03: the requests the ring device is checked on, and the ``SPEC``.

Every scenario's ``note`` says which rule of the contract it pins (an id of
:data:`mmaplab.lab.diagnose.RULES`, in brackets).
"""

from __future__ import annotations

from ..base import (
    DriverSpec,
    Scenario,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    munmap_op,
)
from .model import RingDev
from .mutants import MUTANTS

__all__ = ["SCENARIOS", "SPEC"]

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("one mapping", (mmap_op(0, 2), fault_op(1), munmap_op(0, 2)),
             "[private-data] the fault handler finds the context"),
    Scenario("beyond the ring", (mmap_op(0, 5),), "[lost-check] EINVAL"),
    Scenario("adjacent mappings stay separate", (mmap_op(0, 2), mmap_op(2, 2, offset_pages=2),
                                                 munmap_op(0, 4)),
             "[flags] VM_DONTEXPAND: no merge, two contexts"),
    Scenario("split, then unmap piece by piece", (mmap_op(0, 4), munmap_op(1, 1),
                                                  munmap_op(0, 1), fault_op(2),
                                                  munmap_op(2, 2)),
             "[count-missing] the pieces share one context"),
    Scenario("fork, parent unmaps first", (mmap_op(0, 2), fork_op(), munmap_op(0, 2),
                                           child_exit_op()), "[count-missing]"),
    Scenario("all contexts in use", (mmap_op(0, 1), mmap_op(1, 1, offset_pages=1),
                                     mmap_op(2, 1, offset_pages=2), munmap_op(0, 1),
                                     mmap_op(2, 1, offset_pages=2)),
             "[lost-check] ENOMEM from mapped, then a context is free again"),
    Scenario("VMA allocation fails", (mmap_op(0, 2), mmap_op(0, 2)),
             inject=("vm_area_alloc", 1), note="[count-early] mmap fails after mmap_prepare"),
    Scenario("mapped fails", (mmap_op(0, 2), mmap_op(0, 2)), inject=("mapped", 1),
             note="[null-deref] mapped fails: the new VMA is unmapped, close sees NULL"),
    Scenario("MAP_FIXED over an existing mapping", (mmap_op(0, 2), mmap_op(0, 2)),
             "[count-missing] the old context is freed"),
    Scenario("exit", (mmap_op(0, 2), fork_op(), exit_op(), child_exit_op()),
             "[count-missing]"),
)

SPEC = DriverSpec(
    name="private_data",
    kernel_files=("drivers/staging/vme_user/vme_user.c", "mm/util.c"),
    kernel_version="v6.18 + v4 series 08/21, 16/21 (a made-up device)",
    make=lambda variant: RingDev(variant),
    scenarios=SCENARIOS,
    mutants=MUTANTS,
)
