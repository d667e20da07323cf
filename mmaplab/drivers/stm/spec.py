"""stm: the scenarios the harness runs, the mutants (realistic wrong conversions)
and the ``SPEC`` (see :mod:`mmaplab.drivers.stm.model` for the driver)."""

from __future__ import annotations

from ...kernel.flags import MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from ..base import (
    DriverSpec,
    Scenario,
    anon_neighbour_op,
    child_exit_op,
    exit_op,
    fault_op,
    fork_op,
    mmap_op,
    mprotect_op,
    munmap_op,
)
from .model import (
    NR_CHANS,
    SW_MMIOSZ,
    StmDriver,
    _zero_mmio_addr,
)
from .mutants import MUTANTS, POLICY

RW = PROT_READ | PROT_WRITE
PAGES = NR_CHANS * SW_MMIOSZ // PAGE_SIZE  # 2

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("map-channels", (mmap_op(0, PAGES, RW), fault_op(0, write=True), munmap_op(0, PAGES)),
             "the assigned channels' MMIO, shared: PM usage 1 while mapped, 0 after"),
    Scenario("nonzero-offset", (mmap_op(0, PAGES, RW, offset_pages=1),),
             "any offset: EINVAL"),
    Scenario("wrong-size", (mmap_op(0, PAGES - 1, RW),),
             "a size other than nr_chans * sw_mmiosz: EINVAL"),
    Scenario("private-mapping", (mmap_op(0, PAGES, RW, flags=MAP_PRIVATE), fault_op(0)),
             "MAP_PRIVATE is accepted (no VM_SHARED requirement); a COW PFN mapping"),
    Scenario("two-mappings-adjacent", (mmap_op(0, PAGES, RW), mmap_op(PAGES, PAGES, RW),
                                       munmap_op(0, 2 * PAGES)),
             "the same file twice side by side: VM_IO never merges, PM usage 2 then 0"),
    Scenario("next-to-anon", (anon_neighbour_op(0, 1), mmap_op(1, PAGES, RW), exit_op()),
             "an anonymous neighbour"),
    Scenario("split-by-munmap", (mmap_op(0, PAGES, RW), munmap_op(1, 1), exit_op()),
             "a hole splits the VMA: open() takes a reference for the new piece"),
    Scenario("split-by-mprotect", (mmap_op(0, PAGES, RW), mprotect_op(0, 1, PROT_READ),
                                   munmap_op(0, PAGES)),
             "mprotect of one page splits it"),
    Scenario("fork", (mmap_op(0, PAGES, RW), fork_op(), child_exit_op(), exit_op()),
             "the child's copy takes a reference through open() and drops it in close()"),
    Scenario("remap-fails-after-hook", (mmap_op(0, PAGES, RW),), inject=("pte_alloc", 1),
             note="the page-table allocation of the I/O remap fails (ENOMEM)"),
    Scenario("remap-fails-with-live-mapping",
             (mmap_op(0, PAGES, RW), mmap_op(4, PAGES, RW), munmap_op(0, PAGES)),
             inject=("pte_alloc", 2),
             note="a second mapping's remap fails while a first one is live"),
    Scenario("tree-prealloc-fails", (mmap_op(0, PAGES, RW),), inject=("vma_iter_prealloc", 1),
             note="ENOMEM before the VMA exists: no hook has taken anything"),
)

_REMAP_FAIL = (
    "A behaviour change of v4 15/21. The legacy hook ignored vm_iomap_memory()'s result: a "
    "failed remap still gave a successful mmap() of a VMA without page table entries (any "
    "access: SIGBUS) that held a PM reference until munmap. The converted driver reports "
    "the failure (ENOMEM) and leaves no mapping behind.")

# A defect of the upstream conversion (v4 15/21 as posted): when the action fails, the VMA
# already carries stm_mmap_vmops, mm/util.c mmap_action_finish() skips stm_mmap_mapped()
# (the pm_runtime_get_sync()) and unmaps the VMA, whose close drops a reference never taken.
_PM_UNDERFLOW = (
    "The VMA already carried stm_mmap_vmops when the action failed, so "
    "mmap_action_finish() skips stm_mmap_mapped() (no pm_runtime_get_sync()) and then "
    "unmaps the VMA, which calls stm_mmap_close(): a pm_runtime_put_autosuspend() without "
    "a matching get. Alone, that is a usage-count underflow warning; with another mapping "
    "live it silently drops that mapping's reference (PM usage 0 while a mapping exists).")

_KERNEL_FILES = ("drivers/hwtracing/stm/core.c", "drivers/base/power/runtime.c")
_VERSION = ("legacy: stm_char_mmap @01581a218644 ('-' side of v4 15/21); prepare: v4 15/21 "
            "stm_char_mmap_prepare + stm_mmap_mapped")

SPEC = DriverSpec(
    name="stm",
    kernel_files=_KERNEL_FILES,
    kernel_version=_VERSION,
    make=lambda variant: StmDriver(variant),
    scenarios=SCENARIOS,
    intended={
        "hooks": (
            "pm_runtime_get_sync() moved from the legacy ->mmap hook to vm_ops->mapped "
            "(stm_mmap_mapped), which runs once the new VMA exists and its I/O remap has "
            "succeeded; so each new mapping shows a stm_mmap_vmops->mapped call. The PM usage "
            "count ends the same."),
        "remap-fails-after-hook": _REMAP_FAIL,
        "remap-fails-with-live-mapping": _REMAP_FAIL,
    },
    mutants=MUTANTS,
    defects={
        "state@remap-fails-after-hook": _PM_UNDERFLOW,
        "hooks@remap-fails-after-hook": _PM_UNDERFLOW,
        "state@remap-fails-with-live-mapping": _PM_UNDERFLOW,
    },
)

_SHORT = tuple(s for s in SCENARIOS if s.name in ("map-channels", "wrong-size",
                                                    "private-mapping", "fork"))

#: Other device configurations (see the module docstring).
CONFIG_SPECS: tuple[DriverSpec, ...] = (
    DriverSpec("stm (policy from master 1, channel 64)", _KERNEL_FILES, _VERSION,
               lambda variant: StmDriver(variant, **POLICY), _SHORT,
               {k: v for k, v in SPEC.intended.items() if k == "hooks"}),
    DriverSpec("stm (no mmio_addr)", _KERNEL_FILES, _VERSION,
               lambda variant: StmDriver(variant, mmio_addr=None), _SHORT),
    DriverSpec("stm (no policy: nr_chans 0)", _KERNEL_FILES, _VERSION,
               lambda variant: StmDriver(variant, nr_chans=0), _SHORT),
    DriverSpec("stm (mmio_addr returns 0)", _KERNEL_FILES, _VERSION,
               lambda variant: StmDriver(variant, mmio_addr=_zero_mmio_addr), _SHORT),
)
