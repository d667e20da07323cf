"""Fault injection: make a chosen step of the mapping path fail.

Models the kernel's fault-injection framework (lib/fault-inject.c,
``should_failslab()``, ``should_fail_alloc_page()``): a named *point* is
consulted where the kernel could fail an allocation or a hook, and fails on its
n-th evaluation.  Points are named after the kernel step they stand for.

Follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4 series applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FaultInjector", "POINTS"]

#: Every point the model consults, with the errno the kernel returns there.
POINTS: dict[str, str] = {
    "vm_area_alloc": "ENOMEM: allocating a vm_area_struct (vm_area_alloc/vm_area_dup)",
    "vma_iter_prealloc": "ENOMEM: preallocating maple tree nodes for an insert/split/merge",
    "vm_enough_memory": "ENOMEM: overcommit accounting (security_vm_enough_memory_mm)",
    "anon_vma_prepare": "ENOMEM: allocating an anon_vma on the first anonymous fault",
    "anon_vma_clone": "ENOMEM: cloning the anon_vma chain on split/fork",
    "pte_alloc": "ENOMEM: allocating a page table while populating PTEs",
    "alloc_page": "ENOMEM: allocating a page on fault",
    "mmap_prepare": "the file's mmap_prepare hook returns an error",
    "mmap": "the file's legacy mmap hook returns an error",
    "mmap_action_complete": "the mmap action fails after the VMA was inserted",
    "mapped": "vm_ops->mapped returns an error",
    "success_hook": "the action's success hook returns an error",
    "move_page_tables": "ENOMEM: allocating a page table while mremap moves PTEs",
    "munmap_clear_tree": "ENOMEM: clearing the range from the maple tree in munmap",
}


@dataclass
class FaultInjector:
    """Fail ``point`` on its ``nth`` evaluation (1-based), optionally with ``errno``."""

    point: str
    nth: int = 1
    err: int = 12  # ENOMEM
    seen: dict[str, int] = field(default_factory=dict)
    fired: bool = False

    def __post_init__(self) -> None:
        if self.point not in POINTS:
            raise ValueError(f"unknown fault-injection point {self.point!r}; see POINTS")

    def should_fail(self, point: str) -> bool:
        """Consulted by the model at ``point``; true exactly once, at the n-th time."""
        if point != self.point or self.fired:
            return False
        n = self.seen.get(point, 0) + 1
        self.seen[point] = n
        if n == self.nth:
            self.fired = True
            return True
        return False
