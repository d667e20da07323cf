"""The equivalence harness: run a driver's legacy and converted models side by side.

Not a kernel structure.  It answers the question a driver author asks after a
conversion from ``f_op->mmap`` to ``f_op->mmap_prepare`` (Linux 7.0 + the
"mm: expand mmap_prepare functionality" v4 series): *does userspace, the mm or
the driver see any difference?*  Each scenario (:class:`~mmaplab.drivers.base.Scenario`)
runs on a fresh :class:`~mmaplab.MM` with a fresh driver of each kind; after every
operation the harness records an :class:`Observation` and compares the two runs.

API (small on purpose)::

    from mmaplab.lab import compare as C
    report = C.compare(afs.SPEC)                     # legacy vs prepare, spec's scenarios
    report = C.compare((make_a, make_b), scenarios, intended={"hooks": "why ..."},
                       labels=("the reference", "your conversion"))
    report.ok            # no undeclared difference
    report.undeclared    # [Difference]  first op where each (scenario, key) differs
    report.intended      # [(Difference, explanation)]  declared as intended
    report.differences   # [Difference]  every op at which any key differs
    print(report.render())                            # deterministic text
    obs = C.run_scenario(driver, scenario)            # [Observation], one per op
    C.diff_runs(obs_a, obs_b, scenario) -> [Difference]
    C.mutant_report(spec, mutant) -> Report           # a Mutant vs the reference prepare

**What is observed after each op** (an :class:`Observation`):

* ``result``: the mmap address (``0x7f...``), ``ok``, ``-EINVAL`` style errno names,
  ``SIGSEGV``/``SIGBUS`` for accesses, or ``HookError: ...`` for a hook bug;
* ``maps``: ``/proc/<pid>/maps`` lines (inode numbers replaced by ``ino#1``, ``ino#2``
  in order of appearance, so two runs are comparable);
* per VMA: ``flags`` (``VMFlag.names()``), ``page_prot`` (``Pgprot.describe()``),
  ``vm_ops`` name, ``private_data`` type name;
* ``pte``: the page-table entries in the scenario window (pfn, prot, kind);
* the same four for the fork child while it lives (keys prefixed ``child_``);
* ``state``: ``driver.observe()``, compared field by field (key ``state:<field>``);
* ``hooks``: the ``vm_operations_struct`` callbacks called during the op, in order
  (open, close, mapped, may_split, fault, ...).  The ``f_op`` entry hook itself
  (``->mmap`` vs ``->mmap_prepare``) is recorded in ``entry_hooks`` but never
  compared: it is what a conversion renames;
* ``warnings``: kernel ``WARN_ON_ONCE`` splats emitted during the op.

**Difference keys**: ``errno``, ``maps``, ``flags``, ``page_prot``, ``vm_ops``,
``private_data``, ``pte``, ``child_maps``, ``child_flags``, ``child_page_prot``,
``child_vm_ops``, ``child_private_data``, ``child_pte``, ``state:<field>``, ``hooks``,
``warnings``.

**Declaring intended differences** (``DriverSpec.intended`` or ``intended=``): a
difference is intended when the mapping has an entry for its ``key``
(``"hooks"``, ``"state:pm_usage"``), its key family (``"state"`` covers every
``state:*``), its scenario name (every difference in that scenario), or
``"<key>@<scenario>"`` / ``"<family>@<scenario>"``.  The value is the explanation a
learner reads.  ``Report.unused_intended`` lists entries that matched nothing.

**Fault injection** (``Scenario.inject = (point, nth)``) applies to both runs.  Three
points exist only on the ``mmap_prepare`` path (``mmap_action_complete``,
``mapped``, ``success_hook``): the work they stand for happened *inside* the legacy
``->mmap`` hook, so for a driver whose ``variant`` is ``"legacy"`` the harness
injects the same errno at the ``mmap`` point instead (the legacy hook fails; the
reference outcome is that mmap fails and leaves nothing behind).  The point used
is recorded in ``Observation.injected``.

The harness builds an ``MM(sanitize=False)`` (the sanitizer replaces the hook
observer the harness records hook calls with) and calls
:func:`mmaplab.kernel.page_alloc.reset_allocator` before each run, so pfns of the two
runs line up and rendered reports are reproducible.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import WINDOW, Driver, DriverSpec, Mutant, Op, Scenario
from ..kernel import hooks as _hooks
from ..kernel.debug.report_text import wrap
from ..kernel.errors import BusError, HookError, KernelError, SegmentationFault, errname
from ..kernel.flags import PAGE_SIZE
from ..kernel.fs import File
from ..kernel.maps import show_map_vma
from ..kernel.mm import MM
from ..kernel.page_alloc import reset_allocator
from .scenario import apply_op

__all__ = ["Observation", "Difference", "Report", "run_scenario", "diff_runs", "compare",
           "mutant_report", "WINDOW_PAGES", "LEGACY_INJECTION", "KEY_ORDER", "LABELS"]

#: Pages ``[0, WINDOW_PAGES)`` above :data:`~mmaplab.drivers.base.WINDOW` are observed.
WINDOW_PAGES = 64

#: Injection points that only the mmap_prepare path consults -> the legacy equivalent.
LEGACY_INJECTION: dict[str, str] = {
    "mmap_action_complete": "mmap",
    "mapped": "mmap",
    "success_hook": "mmap",
}

_VMA_KEYS = ("maps", "flags", "page_prot", "vm_ops", "private_data", "pte")
#: The order in which keys are compared and rendered.
KEY_ORDER: tuple[str, ...] = (("errno",) + _VMA_KEYS + tuple(f"child_{k}" for k in _VMA_KEYS)
                              + ("state", "hooks", "warnings"))

#: Default labels of the two sides, as used in explanations.
LABELS = ("the legacy driver", "the converted driver")

_ENTRY_SUFFIXES = ("->mmap", "->mmap_prepare")


# -- observing one run ------------------------------------------------------------------

@dataclass(frozen=True)
class Observation:
    """Everything observable right after one operation of a scenario."""

    index: int
    op: str
    result: str
    maps: tuple[str, ...]
    flags: tuple[str, ...]
    page_prot: tuple[str, ...]
    vm_ops: tuple[str, ...]
    private_data: tuple[str, ...]
    pte: tuple[str, ...]
    child_maps: tuple[str, ...]
    child_flags: tuple[str, ...]
    child_page_prot: tuple[str, ...]
    child_vm_ops: tuple[str, ...]
    child_private_data: tuple[str, ...]
    child_pte: tuple[str, ...]
    state: tuple[tuple[str, str], ...]
    hooks: tuple[str, ...]
    entry_hooks: tuple[str, ...]
    warnings: tuple[str, ...]
    injected: str | None = None

    def aspect(self, key: str) -> Any:
        """The observed value for a difference key (``state:<field>`` reads one field)."""
        if key == "errno":
            return self.result
        if key.startswith("state:"):
            return dict(self.state).get(key[6:], "(absent)")
        return getattr(self, key)


def _page(addr: int) -> str:
    return f"+{(addr - WINDOW) // PAGE_SIZE}" if addr >= WINDOW else f"{addr:#x}"


def _rng(vma: Any) -> str:
    return f"pages {_page(vma.vm_start)}..{_page(vma.vm_end)}"


def _priv_name(priv: Any) -> str:
    return "NULL" if priv is None else type(priv).__name__


def _vma_views(mm: MM | None, inodes: dict[int, str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {k: [] for k in _VMA_KEYS}
    if mm is None:
        return {k: () for k in _VMA_KEYS}
    for v in mm.vmas():
        line = show_map_vma(v)
        if v.vm_file is not None:
            ino = v.vm_file.f_inode.i_ino
            alias = inodes.setdefault(ino, f"ino#{len(inodes) + 1}")
            parts = line.split(None, 5)
            parts[4] = alias
            line = " ".join(parts)
        out["maps"].append(line.rstrip())
        r = _rng(v)
        out["flags"].append(f"{r}: {v.vm_flags.names()}")
        out["page_prot"].append(f"{r}: {v.vm_page_prot.describe()}")
        out["vm_ops"].append(f"{r}: {v.vm_ops.name if v.vm_ops is not None else 'NULL'}")
        out["private_data"].append(f"{r}: {_priv_name(v.vm_private_data)}")
    for a, pte in mm.pagetable.entries(WINDOW, WINDOW + WINDOW_PAGES * PAGE_SIZE).items():
        out["pte"].append(f"page {_page(a)}: {pte}")
    return {k: tuple(v) for k, v in out.items()}


def _result(exc: BaseException) -> str:
    if isinstance(exc, SegmentationFault):
        return "SIGSEGV"
    if isinstance(exc, BusError):
        return "SIGBUS"
    if isinstance(exc, HookError):
        return f"HookError: {exc}"
    if isinstance(exc, KernelError) and type(exc) is KernelError:
        return f"-{errname(exc.errno)}"
    if isinstance(exc, OSError) and exc.errno:
        return f"{type(exc).__name__}: -{errname(exc.errno)}: {exc.strerror or exc}"
    return f"crash ({type(exc).__name__}: {exc})"


def _state(driver: Driver) -> tuple[tuple[str, str], ...]:
    try:
        obs = driver.observe()
    except Exception as exc:  # noqa: BLE001 - a broken observe() is itself an observation
        return (("observe()", _result(exc)),)
    return tuple((str(k), repr(v)) for k, v in obs.items())


def _apply(op: Op, mm: MM, driver: Driver, files: list[File], child: list[MM]) -> str:
    ret = apply_op(op, mm, driver, files, child)
    if op.kind in ("mmap", "anon"):
        return f"{ret:#x}"
    return f"ok ({ret})" if op.kind == "fault" else "ok"


@contextlib.contextmanager
def _recording_hooks(calls: list[str]) -> Iterator[None]:
    """Record every hook the model calls (via :data:`mmaplab.kernel.hooks.observer`)."""
    old = _hooks.observer

    def observe(hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        calls.append(hook)
        return old(hook, fn) if old is not None else fn

    _hooks.observer = observe
    try:
        yield
    finally:
        _hooks.observer = old


def run_scenario(driver: Driver | Callable[[], Driver], scenario: Scenario
                 ) -> list[Observation]:
    """Run ``scenario`` on a fresh ``MM`` with ``driver`` (an instance, or a factory).

    Pass a *fresh* driver: the scenario starts from the device state it has.
    Returns one :class:`Observation` per operation; exceptions of an operation
    become its ``result`` (the run continues with the next operation).
    """
    # pfn numbering restarts for every run so the two runs line up.  Given a
    # factory, restart *before* building the driver, so its own pages (ring
    # buffers, kernel pages) never share pfns with pages the run allocates.
    reset_allocator()
    if not isinstance(driver, Driver):
        driver = driver()
    mm = MM(sanitize=False)
    files: list[File] = []
    child: list[MM] = []
    inodes: dict[int, str] = {}
    injected: str | None = None
    inject: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if scenario.inject is not None:
        point, nth = scenario.inject
        if getattr(driver, "variant", "prepare") == "legacy":
            point = LEGACY_INJECTION.get(point, point)
        injected = f"{point} (call {nth})"
        inject = mm.injecting(point, nth)
    out: list[Observation] = []
    seen = 0
    with inject:
        for i, op in enumerate(scenario.ops):
            calls: list[str] = []
            with _recording_hooks(calls):
                try:
                    result = _apply(op, mm, driver, files, child)
                except Exception as exc:  # noqa: BLE001 - every outcome is an observation
                    result = _result(exc)
            kid = child[0] if child else None
            warnings = list(mm.warnings) + (list(kid.warnings) if kid is not None else [])
            new, seen = tuple(warnings[seen:]), len(warnings)
            own = _vma_views(mm, inodes)
            kids = _vma_views(kid, inodes)
            entry = tuple(c for c in calls if c.endswith(_ENTRY_SUFFIXES))
            other = tuple(c for c in calls if not c.endswith(_ENTRY_SUFFIXES))
            out.append(Observation(
                i, op.describe(), result, own["maps"], own["flags"], own["page_prot"],
                own["vm_ops"], own["private_data"], own["pte"], kids["maps"], kids["flags"],
                kids["page_prot"], kids["vm_ops"], kids["private_data"], kids["pte"],
                _state(driver), other, entry, new, injected))
    return out


# -- differences ------------------------------------------------------------------------

_STATE_NAME = re.compile(r"^state:(.*)$")


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + "; ".join(str(v) for v in value) + "]" if value else "nothing"
    return str(value)


@dataclass(frozen=True)
class Difference:
    """One observable difference between the two runs of a scenario.

    ``key`` is a short stable id (see the module docstring); ``legacy`` and
    ``prepare`` are the two sides' observed values as text (the first and the
    second driver given to :func:`compare`); ``what`` names the operation.
    """

    key: str
    scenario: str
    op_index: int
    what: str
    legacy: str
    prepare: str
    labels: tuple[str, str] = LABELS

    @property
    def family(self) -> str:
        """``state`` for ``state:<field>``, else the key."""
        return self.key.split(":", 1)[0]

    def explain(self) -> str:
        """The difference in words a learner understands."""
        a, b = self.labels
        where = f"after op {self.op_index} ({self.what})"
        m = _STATE_NAME.match(self.key)
        if m:
            return (f"{where} {a} left {m.group(1)} = {self.legacy} but {b} left "
                    f"{self.prepare}")
        if self.key == "errno":
            return (f"op {self.op_index} ({self.what}) {_outcome(self.legacy)} with {a} but "
                    f"{_outcome(self.prepare)} with {b}")
        if self.key == "hooks":
            return (f"during op {self.op_index} ({self.what}) the vm_ops callbacks called were "
                    f"{self.legacy} with {a} but {self.prepare} with {b}")
        if self.key == "warnings":
            return (f"during op {self.op_index} ({self.what}) the kernel warned "
                    f"{self.legacy} with {a} but {self.prepare} with {b}")
        child = self.key.startswith("child_")
        aspect = _ASPECT_WORDS.get(self.key.removeprefix("child_"), self.key)
        space = "the fork child's " if child else ""
        return (f"{where} {space}{aspect} differ: with {a} {self.legacy}; with {b} "
                f"{self.prepare}")

    def render(self) -> str:
        return f"[{self.key}] {self.scenario} #{self.op_index}: {self.explain()}"


_ASPECT_WORDS = {
    "maps": "/proc/self/maps lines",
    "flags": "VMA flags",
    "page_prot": "VMA page protections",
    "vm_ops": "VMA vm_ops",
    "private_data": "VMA vm_private_data",
    "pte": "page table entries",
}


def _outcome(result: str) -> str:
    if result.startswith("-E"):
        return f"failed with {result}"
    if result.startswith("0x"):
        return f"succeeded at {result}"
    if result == "ok":
        return "succeeded"
    if result.startswith("ok ("):
        return f"succeeded, {result[4:-1]}"
    return f"ended in {result}"


def _keys(a: Observation, b: Observation) -> list[str]:
    fields = [k for k, _ in a.state] + [k for k, _ in b.state if k not in dict(a.state)]
    keys: list[str] = []
    for k in KEY_ORDER:
        if k == "state":
            keys.extend(f"state:{f}" for f in fields)
        else:
            keys.append(k)
    return keys


def diff_runs(a: Sequence[Observation], b: Sequence[Observation], scenario: Scenario | str,
              labels: tuple[str, str] = LABELS) -> list[Difference]:
    """Every (op, key) at which run ``a`` and run ``b`` differ, in op then key order."""
    name = scenario if isinstance(scenario, str) else scenario.name
    out: list[Difference] = []
    for oa, ob in zip(a, b, strict=True):
        for key in _keys(oa, ob):
            va, vb = oa.aspect(key), ob.aspect(key)
            if va != vb:
                out.append(Difference(key, name, oa.index, oa.op, _fmt(va), _fmt(vb), labels))
    return out


# -- reports ------------------------------------------------------------------------------

def _match(intended: Mapping[str, str], d: Difference) -> str | None:
    for k in (f"{d.key}@{d.scenario}", f"{d.family}@{d.scenario}", d.scenario, d.key,
              d.family):
        if k in intended:
            return k
    return None


@dataclass
class Report:
    """The outcome of :func:`compare`.

    ``differences``: every differing (scenario, op, key).  ``undeclared`` and
    ``intended`` hold the *first* op at which each (scenario, key) differs
    (later ops usually inherit it); ``intended`` pairs each with its explanation.
    """

    name: str
    labels: tuple[str, str]
    scenarios: tuple[Scenario, ...]
    runs: dict[str, tuple[list[Observation], list[Observation]]]
    differences: list[Difference]
    undeclared: list[Difference]
    intended: list[tuple[Difference, str]]
    unused_intended: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No undeclared difference."""
        return not self.undeclared

    @property
    def keys(self) -> set[str]:
        """Keys of all first differences (undeclared and intended)."""
        return {d.key for d in self.undeclared} | {d.key for d, _ in self.intended}

    def render(self) -> str:
        """Deterministic text: header, undeclared differences, then intended ones."""
        nops = sum(len(s.ops) for s in self.scenarios)
        a, b = self.labels
        lines = [f"{self.name}: {a} vs {b} — {len(self.scenarios)} scenarios, {nops} operations"]
        if self.undeclared:
            lines.append(f"UNDECLARED differences ({len(self.undeclared)}):")
            lines.extend(f"  {d.render()}" for d in self.undeclared)
        else:
            lines.append("undeclared differences: none")
        if self.intended:
            groups: dict[str, list[Difference]] = {}
            for d, why in self.intended:
                groups.setdefault(why, []).append(d)
            lines.append(f"intended differences ({len(self.intended)} at "
                         f"{len(groups)} explained point(s)):")
            for why, diffs in groups.items():
                lines.append(f"  {diffs[0].render()}")
                if len(diffs) > 1:
                    more = ", ".join(f"{d.key} in {d.scenario} #{d.op_index}" for d in diffs[1:])
                    lines.append(f"    likewise: {more}")
                lines.append(f"    why: {why}")
        return wrap("\n".join(lines))

    def __str__(self) -> str:
        return self.render()


Factories = tuple[Callable[[], Driver], Callable[[], Driver]]


def compare(spec_or_factories: DriverSpec | Factories,
            scenarios: Sequence[Scenario] | None = None,
            intended: Mapping[str, str] | None = None,
            labels: tuple[str, str] = LABELS, name: str | None = None) -> Report:
    """Run every scenario with both drivers and report the differences.

    ``spec_or_factories``: a :class:`DriverSpec` (its ``legacy`` vs ``prepare``
    variants, its scenarios and ``intended`` unless given) or a pair of
    zero-argument factories.  Each scenario gets a fresh driver from each factory.
    """
    if isinstance(spec_or_factories, DriverSpec):
        spec = spec_or_factories
        make_a: Callable[[], Driver] = lambda: spec.make("legacy")  # noqa: E731
        make_b: Callable[[], Driver] = lambda: spec.make("prepare")  # noqa: E731
        scen = tuple(scenarios) if scenarios is not None else tuple(spec.scenarios)
        declared = dict(intended) if intended is not None else dict(spec.intended)
        title = name or spec.name
    else:
        make_a, make_b = spec_or_factories
        scen = tuple(scenarios or ())
        declared = dict(intended or {})
        title = name or "comparison"
    runs: dict[str, tuple[list[Observation], list[Observation]]] = {}
    every: list[Difference] = []
    undeclared: list[Difference] = []
    chosen: list[tuple[Difference, str]] = []
    used: set[str] = set()
    for s in scen:
        ra, rb = run_scenario(make_a, s), run_scenario(make_b, s)
        runs[s.name] = (ra, rb)
        diffs = diff_runs(ra, rb, s, labels)
        every.extend(diffs)
        first: set[str] = set()
        for d in diffs:
            if d.key in first:
                continue
            first.add(d.key)
            k = _match(declared, d)
            if k is None:
                undeclared.append(d)
            else:
                used.add(k)
                chosen.append((d, declared[k]))
    unused = [k for k in declared if k not in used]
    return Report(title, labels, scen, runs, every, undeclared, chosen, unused)


def mutant_report(spec: DriverSpec, mutant: Mutant) -> Report:
    """Compare a :class:`Mutant` with the spec's reference ``prepare`` variant (nothing
    is intended: any difference is the mutant's bug showing)."""
    make = mutant.reference or spec.make
    scenarios = mutant.scenarios() if mutant.scenarios is not None else spec.scenarios
    return compare((lambda: make("prepare"), mutant.make), scenarios, {},
                   ("the reference conversion", f"mutant {mutant.name!r}"),
                   name=f"{spec.name} / mutant {mutant.name}")
