"""Diagnoses by rule: which rule of the mmap contract a run broke, from structured facts.

Not a kernel structure.  When a learner's hooks (or a mutant's) behave differently from
the reference, the first difference says *which rule* they broke: a check the legacy
hook made is gone (the reference refuses, the answer maps), an errno differs, the
caching attribute is missing from the page protection, a refcount is taken twice or
on a mapping that then fails, a VMA flag is lost, the mapping shows the wrong pfns...
:func:`classify` names that rule (an id of :data:`RULES`) from :class:`Facts`, the
structured record :func:`snapshot` takes of the address space and the driver after
each request: errnos as numbers, VMA flags as flag names, page protections as their
caching bits, driver counters as the values ``observe()`` returned.  No rendered text
is matched.

The driver kits' mutants say which rule each breaks (``Mutant.breaks``), so an exercise
can name the catalogued mistake that breaks the same rule, or, when the learner's
mistake is new, explain the rule itself: a diagnosis that fits even without an
identical run.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..drivers.base import WINDOW, WINDOW_PAGES, Driver
from ..kernel.errors import BusError, HookError, KernelError, SegmentationFault
from ..kernel.flags import PAGE_SIZE
from ..kernel.mm import MM
from ..kernel.pgtable import Pgprot

__all__ = ["Facts", "VmaFacts", "PteFacts", "Rule", "RULES", "snapshot", "classify"]

#: Page-protection bits that are permissions, not memory attributes.
_PERMISSION_BITS = {"NONE", "PRESENT", "RW", "USER", "NX"}
#: What the attribute bits mean, in the kernel's pgprot_*() names.
_ATTRIBUTE = {"PCD": "noncached", "PWT": "writecombine"}


def _attributes(prot: Pgprot) -> frozenset[str]:
    """The memory-type bits of ``prot`` as the pgprot_*() that sets them."""
    return frozenset(_ATTRIBUTE.get(m.name or "", (m.name or "").lower()) for m in Pgprot
                     if m.name not in _PERMISSION_BITS and m.value and m in prot)


@dataclass(frozen=True)
class VmaFacts:
    """One VMA: page range relative to the window, flags by name, caching attributes."""

    start: int
    end: int
    pgoff: int
    flags: frozenset[str]
    attributes: frozenset[str]
    vm_ops: str | None
    private_data: str | None


@dataclass(frozen=True)
class PteFacts:
    page: int
    pfn: int
    attributes: frozenset[str]


@dataclass(frozen=True)
class Facts:
    """What a request did, as data: its outcome and the state right after it."""

    ok: bool
    errno: int | None
    signal: str | None
    #: A hook misbehaved: the hook's kernel name, and the exception it raised (if any):
    #: ``"NULL"`` for a NULL pointer dereference (an attribute read on None).
    hook: str | None
    hook_raised: str | None
    #: The hook's call into the kernel crashed there (the model function's name): a
    #: kernel API used where it cannot work, as an oops would show it.
    oops: str | None
    vmas: tuple[VmaFacts, ...]
    ptes: tuple[PteFacts, ...]
    child_vmas: tuple[VmaFacts, ...]
    child_ptes: tuple[PteFacts, ...]
    state: tuple[tuple[str, Any], ...]
    warnings: int
    #: The locks calls of the run left held so far (``mm.lock_leaks``, the fork child's
    #: too), by name: lockdep_sys_exit() reports them on failing calls as well.
    locks_leaked: tuple[str, ...] = ()

    def value(self, key: str) -> Any:
        return dict(self.state).get(key)


def _page(addr: int) -> int:
    return (addr - WINDOW) // PAGE_SIZE


def _priv(priv: Any) -> str | None:
    if priv is None:
        return None
    return next(c.__name__ for c in type(priv).__mro__ if not c.__name__.startswith("_"))


def _vmas(mm: MM | None) -> tuple[VmaFacts, ...]:
    if mm is None:
        return ()
    return tuple(VmaFacts(_page(v.vm_start), _page(v.vm_end), v.vm_pgoff,
                          frozenset(f.name or "" for f in type(v.vm_flags) if f in v.vm_flags
                                    and f.value),
                          _attributes(v.vm_page_prot),
                          v.vm_ops.name if v.vm_ops is not None else None,
                          _priv(v.vm_private_data)) for v in mm.vmas())


def _ptes(mm: MM | None) -> tuple[PteFacts, ...]:
    if mm is None:
        return ()
    table = mm.pagetable.entries(WINDOW, WINDOW + WINDOW_PAGES * PAGE_SIZE)
    return tuple(PteFacts(_page(a), pte.pfn, _attributes(pte.prot)) for a, pte in table.items())


_KERNEL_PACKAGE = str(Path(__file__).resolve().parents[1] / "kernel")


def _crash(exc: BaseException) -> tuple[str | None, str | None]:
    """``(what the hook raised, the kernel function it crashed in)`` for an exception
    that escaped a hook: a crash inside the model's kernel code is an oops of that
    function (the hook passed it something it cannot work on); an attribute read on
    None in the hook is a NULL pointer dereference; anything else is a Python bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and frames[-1].filename.startswith(_KERNEL_PACKAGE):
        return None, frames[-1].name
    if isinstance(exc, AttributeError) and getattr(exc, "obj", False) is None:
        return "NULL", None
    return type(exc).__name__, None


def snapshot(mm: MM, child: MM | None, driver: Driver, exc: BaseException | None,
             warnings: int) -> Facts:
    """The facts after one request that ended with ``exc`` (None: it succeeded)."""
    errno: int | None = None
    signal = hook = raised = oops = None
    if isinstance(exc, SegmentationFault):
        signal = "SIGSEGV"
    elif isinstance(exc, BusError):
        signal = "SIGBUS"
    elif isinstance(exc, HookError):
        hook = exc.hook
        errno = exc.errno
        if exc.__cause__ is not None:
            raised, oops = _crash(exc.__cause__)
    elif isinstance(exc, KernelError) or isinstance(exc, OSError):
        errno = exc.errno
    elif exc is not None:
        raised = type(exc).__name__
    try:
        state = tuple(driver.observe().items())
    except Exception:  # noqa: BLE001 - a broken observe() shows as no state
        state = ()
    leaks = list(mm.lock_leaks) + (list(child.lock_leaks) if child is not None else [])
    return Facts(exc is None, errno, signal, hook, raised, oops, _vmas(mm), _ptes(mm),
                 _vmas(child), _ptes(child), state, warnings, tuple(x.lock for x in leaks))


# -- the rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A rule of the contract a converted hook keeps: what breaking it looks like to the
    learner (``title``), why it matters (``explanation``) and where to look (``hint``)."""

    id: str
    title: str
    explanation: str
    hint: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("lost-check", "a check of the legacy hook is missing",
         "The reference refuses this request, your hook lets it through. Every check the "
         "legacy hook made (device state, size, offset, flags) still belongs in the "
         "converted hook, before the action is described.",
         "Read the legacy hook's early returns one by one and find the one your hook no "
         "longer makes for this request."),
    Rule("extra-refusal", "the hook refuses a request the legacy driver serves",
         "The reference maps this request, your hook returns an error. A check is too "
         "strict, compares the wrong unit (bytes with pages), or tests a flag the legacy "
         "hook did not test.",
         "Compute, for this request, each value your checks compare, and compare them with "
         "what the legacy hook compared."),
    Rule("errno", "the hook returns another errno",
         "Both refuse the request, with different errnos. User space sees the errno; the "
         "converted hook returns exactly what the legacy hook returned.",
         "Find the legacy return statement that this request reaches and copy its errno."),
    Rule("errno-precedence", "the checks run in another order",
         "Both refuse the request, but your hook reports an error that the reference "
         "reports for another reason: when two checks fail, the one the legacy hook ran "
         "first decides the errno.",
         "Put the checks in the order of the legacy hook."),
    Rule("noncached", "the uncached attribute is missing",
         "The legacy hook made the mapping uncached with pgprot_noncached() on "
         "vma->vm_page_prot. In mmap_prepare the page protection is desc->page_prot, and "
         "the same function applies to it.",
         "Look at what the legacy hook did to vm_page_prot before mapping anything."),
    Rule("writecombine", "the write-combining attribute is missing",
         "The legacy hook mapped the region write-combined (pgprot_writecombine() on "
         "vma->vm_page_prot). The descriptor's field is desc->page_prot.",
         "Look at what the legacy hook did to vm_page_prot: which pgprot_*() it used."),
    Rule("decrypted", "the decrypted attribute is missing",
         "With memory encryption, an I/O remap maps the range decrypted (io_remap_pfn_range "
         "applies pgprot_decrypted()); a plain pfn remap of RAM does not. Pick the action "
         "that matches the legacy helper.",
         "Which legacy helper was it: remap_pfn_range() or io_remap_pfn_range()?"),
    Rule("prot-extra", "the mapping has a memory attribute the reference does not set",
         "Your hook changes the caching of a mapping the legacy driver left alone (for "
         "example ordinary RAM made uncached because 'it is an I/O remap').",
         "Only change desc->page_prot where the legacy hook changed vm_page_prot."),
    Rule("flags", "a VMA flag differs",
         "The new VMA's flags differ from the reference's. Flags the legacy hook set or "
         "cleared on vma->vm_flags are set or cleared on the descriptor with the "
         "vma_desc_*() accessors, before the VMA exists.",
         "Compare the flag difference shown above with the legacy hook's vm_flags edits."),
    Rule("range", "the mapping shows the wrong part of the device",
         "The mapping succeeds but maps other pages than the reference: an offset is "
         "ignored, a size is in the wrong unit, or the address passed is not the one the "
         "legacy hook mapped.",
         "Check the address (physical address or pfn?), the size (bytes or pages?) and "
         "how the file offset (desc->pgoff) selects the start."),
    Rule("no-action", "nothing asks the kernel to map the memory",
         "The hook returned 0, but no action maps the pages the legacy helper mapped, so "
         "the new VMA has no page-table entries (or the wrong kind).",
         "Each legacy mapping helper has an mmap_action_*() counterpart that you call from "
         "mmap_prepare."),
    Rule("vm-ops", "the VMA's operations are missing",
         "Install the operations with desc->vm_ops; the kernel copies them into the new "
         "VMA. Without them none of mapped, open, close or fault ever runs.",
         "Where does your hook set desc->vm_ops, and on which paths?"),
    Rule("private-data", "the VMA's private data differs",
         "The compat layer and mmap_region() copy desc->private_data into the new VMA; "
         "whatever was in vma->vm_private_data before is overwritten.",
         "Set desc->private_data to what the VMA's operations expect to find there."),
    Rule("counted-twice", "a reference or counter is taken twice",
         "After this request the driver's counter is higher than the reference's: the "
         "mapping is counted in more than one place (e.g. in mmap_prepare and in mapped), "
         "or more than once.",
         "Count each new mapping in exactly one place: vm_ops->mapped runs once the VMA "
         "exists."),
    Rule("count-early", "the driver counts before the mapping exists",
         "The driver's counter changed on a request that then failed (or merged into an "
         "existing VMA): mmap_prepare runs before the kernel knows whether a new VMA will "
         "exist, so nothing undoes it.",
         "Move the counting out of mmap_prepare into vm_ops->mapped."),
    Rule("count-missing", "a mapping is not counted",
         "After this request the driver's counter is lower than the reference's: a new "
         "VMA (a fresh mapping, or a copy made by a split or fork) was not counted, or a "
         "close dropped a count that was never taken.",
         "Which of mapped, open and close runs for this request, and which of them count?"),
    Rule("count-dropped", "a close drops a count that was never taken",
         "The driver's counter went down on a request where the reference's did not: "
         "close ran for a VMA whose mapped never ran (the mapping failed late), so it must "
         "not drop anything.",
         "Let close tell whether mapped ran for this VMA before it drops a count."),
    Rule("compat-steps", "the compat layer's steps are not all done",
         "A legacy ->mmap that calls a converted callback builds a descriptor from the "
         "VMA, lets the callback fill it, then applies it with __compat_vma_mmap() "
         "(which also performs the action). Skipping or replacing a step loses the "
         "descriptor's effects.",
         "compat_set_desc_from_vma(), the callback, then return __compat_vma_mmap()."),
    Rule("state", "the driver's state differs",
         "The driver's state after this request differs from the reference's.",
         "Compare the driver state shown above with what the legacy driver does."),
    Rule("warning", "the kernel warns",
         "The kernel emitted a warning the reference does not (or the other way round): "
         "the hook broke an assumption the mm checks with WARN_ON_ONCE.",
         "Read the warning text: it names the assumption."),
    Rule("lock-leaked", "a lock is still held when the call returns",
         "A lock the hook took is still held when the system call returns: an error path "
         "returns without releasing it.",
         "Every return between the lock and the unlock must release it (try/finally)."),
    Rule("helper-in-prepare", "a VMA helper called from mmap_prepare",
         "remap_pfn_range(), vm_iomap_memory(), vm_map_pages() and friends work on a VMA "
         "that already exists. mmap_prepare only has a descriptor: no VMA and no page "
         "table yet. Describe the work with an mmap_action_*() helper and the kernel does "
         "it once the VMA is in place.",
         "Which mmap_action_*() helper describes what the legacy helper did?"),
    Rule("kernel-oops", "a kernel function is used where it cannot work",
         "Your hook called a kernel function that crashed on what it was given (the "
         "kernel would oops): it expects other arguments or another context, e.g. a "
         "file whose f_op has an mmap_prepare.",
         "Read what the function named above expects, and what your hook passes it."),
    Rule("null-deref", "a NULL pointer is dereferenced",
         "The hook reads a field through a pointer that is NULL on this path (the kernel "
         "would oops): e.g. vm_private_data before mapped has set it, when the mapping "
         "failed late and close runs for a VMA whose mapped never ran.",
         "On which path is that pointer still NULL, and what should the hook do there?"),
    Rule("hook-crash", "the hook raised an exception",
         "The hook raised a Python exception: this is a bug in the code, not a "
         "misconception about the kernel.",
         "Read the exception and the line it names."),
)}


#: The legacy helpers that need a VMA (mm/memory.c); called from mmap_prepare they crash.
LEGACY_HELPERS = frozenset({
    "remap_pfn_range", "io_remap_pfn_range", "vm_iomap_memory", "vm_map_pages",
    "vm_map_pages_zero", "vm_insert_page", "vm_insert_pages", "remap_vmalloc_range",
    "remap_vmalloc_range_partial", "dma_mmap_coherent", "vmf_insert_pfn"})


def _counter(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, (list, tuple)) and all(isinstance(x, int) for x in v):
            return float(sum(v))
        return None
    return float(v)


def _state_rule(e: Facts, g: Facts, e0: Facts | None, g0: Facts | None, kind: str) -> str:
    for key, ev in e.state:
        gv = g.value(key)
        if gv == ev:
            continue
        ec, gc = _counter(ev), _counter(gv)
        if ec is None or gc is None:
            return "state"
        if "underflow" in key:
            return "count-missing" if gc > ec else "counted-twice"
        e_delta = ec - (_counter(e0.value(key)) or 0.0) if e0 is not None else ec
        g_delta = gc - (_counter(g0.value(key)) or 0.0) if g0 is not None else gc
        if not g.ok and gc > ec:
            return "count-early"
        if gc > ec:
            return "count-early" if e_delta == 0 and kind == "mmap" else "counted-twice"
        if g_delta < 0 and e_delta == 0:
            return "count-dropped"
        return "count-missing"
    return "state"


_SPECIAL = frozenset({"PFNMAP", "MIXEDMAP"})


def _vma_rule(ev: Sequence[VmaFacts], gv: Sequence[VmaFacts]) -> str | None:
    for a, b in zip(ev, gv, strict=False):
        # No action at all comes first: a hook that did nothing also lacks the caching
        # attribute, but "uncached is missing" would send the learner to the smaller fix.
        if a.flags & _SPECIAL and not b.flags & _SPECIAL:
            return "no-action"
        if a.attributes != b.attributes:
            missing = a.attributes - b.attributes
            if "noncached" in missing:
                return "noncached"
            if "writecombine" in missing:
                return "writecombine"
            if "decrypted" in missing:
                return "decrypted"
            return "prot-extra"
        if a.vm_ops != b.vm_ops:
            return "vm-ops"
        if a.flags != b.flags:
            return "flags"
        if a.private_data != b.private_data:
            return "private-data"
        if (a.start, a.end, a.pgoff) != (b.start, b.end, b.pgoff):
            return "range"
    if len(ev) != len(gv):
        return "flags"  # one run merged (or split) where the other did not
    return None


def _pte_rule(ep: Sequence[PteFacts], gp: Sequence[PteFacts]) -> str:
    if ep and not gp:
        return "no-action"
    for a, b in zip(ep, gp, strict=False):
        if a.attributes != b.attributes:
            missing = a.attributes - b.attributes
            for attr in ("noncached", "writecombine", "decrypted"):
                if attr in missing:
                    return attr
            return "prot-extra"
    return "range"


def classify(expected: Facts, got: Facts, *, before: tuple[Facts, Facts] | None = None,
             kind: str = "mmap", reference_errnos: Mapping[int, int] | None = None
             ) -> str | None:
    """The rule ``got`` broke where the reference did ``expected`` (None: no rule fits).

    ``before``: the facts after the previous request (reference, answer), to tell a
    counter that moved from one that is merely different; ``reference_errnos``: errno ->
    how often the reference returned it elsewhere in the exercise (to tell a check that
    ran in another order from a wrong errno).
    """
    e, g = expected, got
    if g.oops is not None and e.oops is None:
        return "helper-in-prepare" if g.oops in LEGACY_HELPERS else "kernel-oops"
    if g.hook_raised == "NULL" and e.hook_raised is None:
        return "null-deref"
    if g.hook_raised is not None and e.hook_raised is None:
        return "hook-crash"
    if e.ok and not g.ok and g.errno is not None:
        return "extra-refusal"
    if not e.ok and g.ok:
        if e.signal is not None:
            return _vma_rule(e.vmas, g.vmas) or _pte_rule(e.ptes, g.ptes)
        return "lost-check"
    if e.errno is not None and g.errno is not None and e.errno != g.errno:
        if reference_errnos and reference_errnos.get(g.errno):
            return "errno-precedence"
        return "errno"
    if e.ok and g.signal is not None:
        return _vma_rule(e.vmas, g.vmas) or _pte_rule(e.ptes, g.ptes)
    rule = _vma_rule(e.vmas, g.vmas)
    if rule is not None:
        return rule
    if e.ptes != g.ptes:
        return _pte_rule(e.ptes, g.ptes)
    if e.state != g.state:
        e0, g0 = before if before is not None else (None, None)
        return _state_rule(e, g, e0, g0, kind)
    child = _vma_rule(e.child_vmas, g.child_vmas)
    if child is not None:
        return child
    if e.child_ptes != g.child_ptes:
        return "flags" if not e.child_ptes or not g.child_ptes else "range"
    if len(g.locks_leaked) > len(e.locks_leaked):
        return "lock-leaked"
    if e.warnings != g.warnings:
        return "warning"
    return None
