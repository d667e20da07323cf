"""The equivalence harness: run a driver's legacy and converted models side by side.

Not a kernel structure.  It answers the question a driver author asks after a
conversion from ``f_op->mmap`` to ``f_op->mmap_prepare`` (Linux 7.0 + the
"mm: expand mmap_prepare functionality" v4 series): *does userspace, the mm or
the driver see any difference?*  Each scenario (:class:`~mmaplab.drivers.base.Scenario`)
runs on a fresh :class:`~mmaplab.MM` with a fresh driver of each kind; after every
operation the harness records an ``Observation`` and compares the two runs.

API (small on purpose)::

    from mmaplab.lab import compare as C
    report = C.compare(afs.SPEC)                     # legacy vs prepare, spec's scenarios
    report = C.compare((make_a, make_b), scenarios, intended={"hooks": "why ..."},
                       labels=("the reference", "your conversion"))
    report.ok            # no undeclared difference
    report.undeclared    # [Difference]  first op where each (scenario, key) differs
    report.intended      # [(Difference, explanation)]  declared as intended
    report.defects       # [(Difference, explanation)]  defects of the upstream conversion
    report.differences   # [Difference]  every op at which any key differs
    print(report.render())                            # deterministic text
    obs = scenario.run_scenario(driver, scen)         # [Observation], one per op
    diff.diff_runs(obs_a, obs_b, scen) -> [Difference]
    C.mutant_report(spec, mutant) -> Report           # a Mutant vs the reference prepare

**What is observed after each op** is the lab's one record,
:class:`~mmaplab.lab.observe.Observation` (taken by
:func:`~mmaplab.lab.scenario.run_scenario`), compared by its **difference keys**
(:data:`~mmaplab.lab.observe.KEY_ORDER`): ``errno``, ``maps``, ``flags``, ``page_prot``,
``vm_ops``, ``private_data``, ``pte``, their
``child_`` twins, ``state:<field>``, ``hooks`` (the ``vm_operations_struct`` callbacks
called; the ``f_op`` entry hook is recorded but never compared: it is what a conversion
renames) and ``warnings``.  :func:`~mmaplab.lab.diff.diff_runs` lists the
:class:`~mmaplab.lab.diff.Difference` s.

**Declaring intended differences** (``DriverSpec.intended`` or ``intended=``): a
difference is intended when the mapping has an entry for its ``key``
(``"hooks"``, ``"state:pm_usage"``), its key family (``"state"`` covers every
``state:*``), its scenario name (every difference in that scenario), or
``"<key>@<scenario>"`` / ``"<family>@<scenario>"``.  The value is the explanation a
learner reads.  ``Report.unused_intended`` lists entries that matched nothing.

**Declaring defects of the upstream conversion** (``DriverSpec.defects`` or
``defects=``), keyed the same way: a difference the converted *kernel* driver really has,
which the model reproduces on purpose (vme_user's ``close`` dereferencing what only
``mapped`` allocates; stm dropping a PM reference it never took).  They are neither
equivalences nor intentions of the series: a third category, rendered apart with the
bug's explanation.  When both mappings match a difference, the more specific key wins
(the order above); on a tie the defect wins.

**Fault injection** (``Scenario.inject = (point, nth)``) applies to both runs.  Three
points exist only on the ``mmap_prepare`` path (``mmap_action_complete``,
``mapped``, ``success_hook``): the work they stand for happened *inside* the legacy
``->mmap`` hook, so for a driver whose ``variant`` is ``"legacy"`` the harness
injects the same errno at the ``mmap`` point instead (the legacy hook fails; the
reference outcome is that mmap fails and leaves nothing behind).  The point used
is recorded in ``Observation.injected``.

Each run is a fresh ``MM(sanitize=False)`` after
:func:`mmaplab.kernel.page_alloc.reset_allocator`, so pfns of the two runs line up and
rendered reports are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import Driver, DriverSpec, Mutant, Scenario
from ..kernel.debug.report_text import wrap
from .diff import LABELS, Difference, diff_runs
from .observe import Observation
from .scenario import run_scenario

__all__ = ["Report", "compare", "mutant_report"]


# -- reports ------------------------------------------------------------------------------

def _match(intended: Mapping[str, Any], d: Difference) -> str | None:
    for k in (f"{d.key}@{d.scenario}", f"{d.family}@{d.scenario}", d.scenario, d.key,
              d.family):
        if k in intended:
            return k
    return None


@dataclass
class Report:
    """The outcome of :func:`compare`.

    ``differences``: every differing (scenario, op, key).  ``undeclared``,
    ``intended`` and ``defects`` hold the *first* op at which each (scenario, key)
    differs (later ops usually inherit it); ``intended`` and ``defects`` pair each with
    its explanation.
    """

    name: str
    labels: tuple[str, str]
    scenarios: tuple[Scenario, ...]
    runs: dict[str, tuple[list[Observation], list[Observation]]]
    differences: list[Difference]
    undeclared: list[Difference]
    intended: list[tuple[Difference, str]]
    unused_intended: list[str] = field(default_factory=list)
    defects: list[tuple[Difference, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No undeclared difference (declared defects do not count: they are known)."""
        return not self.undeclared

    @property
    def keys(self) -> set[str]:
        """Keys of all first differences (undeclared, defects and intended)."""
        return ({d.key for d in self.undeclared} | {d.key for d, _ in self.intended}
                | {d.key for d, _ in self.defects})

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
        lines += _grouped("DEFECTS of the upstream conversion", "bug", self.defects)
        lines += _grouped("intended differences", "why", self.intended)
        return wrap("\n".join(lines))

    def __str__(self) -> str:
        return self.render()


def _grouped(title: str, label: str, pairs: list[tuple[Difference, str]]) -> list[str]:
    """Render declared differences, one group per explanation (its first difference in
    full, the others listed by key, then the explanation once)."""
    if not pairs:
        return []
    groups: dict[str, list[Difference]] = {}
    for d, why in pairs:
        groups.setdefault(why, []).append(d)
    lines = [f"{title} ({len(pairs)} at {len(groups)} explained point(s)):"]
    for why, diffs in groups.items():
        lines.append(f"  {diffs[0].render()}")
        if len(diffs) > 1:
            more = ", ".join(f"{d.key} in {d.scenario} #{d.op_index}" for d in diffs[1:])
            lines.append(f"    likewise: {more}")
        lines.append(f"    {label}: {why}")
    return lines


Factories = tuple[Callable[[], Driver], Callable[[], Driver]]


def compare(spec_or_factories: DriverSpec | Factories,
            scenarios: Sequence[Scenario] | None = None,
            intended: Mapping[str, str] | None = None,
            labels: tuple[str, str] = LABELS, name: str | None = None,
            defects: Mapping[str, str] | None = None) -> Report:
    """Run every scenario with both drivers and report the differences.

    ``spec_or_factories``: a :class:`DriverSpec` (its ``legacy`` vs ``prepare``
    variants, its scenarios, ``intended`` and ``defects`` unless given) or a pair of
    zero-argument factories.  Each scenario gets a fresh driver from each factory.
    """
    if isinstance(spec_or_factories, DriverSpec):
        spec = spec_or_factories
        make_a: Callable[[], Driver] = lambda: spec.make("legacy")  # noqa: E731
        make_b: Callable[[], Driver] = lambda: spec.make("prepare")  # noqa: E731
        scen = tuple(scenarios) if scenarios is not None else tuple(spec.scenarios)
        declared = dict(intended) if intended is not None else dict(spec.intended)
        bugs = dict(defects) if defects is not None else dict(spec.defects)
        title = name or spec.name
    else:
        make_a, make_b = spec_or_factories
        scen = tuple(scenarios or ())
        declared = dict(intended or {})
        bugs = dict(defects or {})
        title = name or "comparison"
    runs: dict[str, tuple[list[Observation], list[Observation]]] = {}
    every: list[Difference] = []
    undeclared: list[Difference] = []
    chosen: list[tuple[Difference, str]] = []
    found: list[tuple[Difference, str]] = []
    used: set[str] = set()
    # One lookup over both declarations, so the most specific key wins whichever
    # category it is in; a key declared in both is a defect.
    category = {k: (chosen, why) for k, why in declared.items()}
    category.update({k: (found, why) for k, why in bugs.items()})
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
            k = _match(category, d)
            if k is None:
                undeclared.append(d)
            else:
                used.add(k)
                into, why = category[k]
                into.append((d, why))
    unused = [k for k in category if k not in used]
    return Report(title, labels, scen, runs, every, undeclared, chosen, unused, found)


def mutant_report(spec: DriverSpec, mutant: Mutant) -> Report:
    """Compare a :class:`Mutant` with the spec's reference ``prepare`` variant (nothing
    is intended: any difference is the mutant's bug showing)."""
    make = mutant.reference or spec.make
    scenarios = mutant.scenarios() if mutant.scenarios is not None else spec.scenarios
    return compare((lambda: make("prepare"), mutant.make), scenarios, {},
                   ("the reference conversion", f"mutant {mutant.name!r}"),
                   name=f"{spec.name} / mutant {mutant.name}")
