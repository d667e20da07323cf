"""Driver exercises: the learner writes the converted methods of a real driver model.

The device state is the driver model's :class:`~mmaplab.drivers.base.Driver`
subclass (``mmaplab/drivers/<name>.py``).  The learner writes the functions that the
series changed, as plain functions (methods take ``self`` first); the check builds
a subclass of the class that owns them (by default the driver class itself) with
those functions as methods, instantiates the ``prepare`` variant and compares it,
request by request, with the driver model's own ``prepare`` variant on the driver's
scenarios (``SPEC.scenarios``) — and on any further device configurations the
exercise lists (:class:`DriverCase`).

Misconceptions come from the driver's realistic mutants (``SPEC.mutants``) and from
mutants the exercise adds (:class:`ExerciseMutant`): when the learner's run matches a
mutant's run up to the first divergence, the check names that mutant's misconception.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.base import Driver, Scenario
from ..lab.diagnose import RULES
from ..lab.diff import Case, Divergence
from ..lab.scenario import quiet_lockdep, run_case
from ._core import Exercise, Misconception
from ._crash import null_dereference
from ._device import need_function, need_instance

__all__ = ["driver_exercise", "DriverCase", "ExerciseMutant", "subclass_with", "pick"]

#: Builds the learner's driver for one case from ``{function name: learner function}``.
LearnerFactory = Callable[[dict[str, Any]], Driver]


@dataclass(frozen=True)
class DriverCase:
    """One device configuration of a driver exercise.

    ``learner(overrides)`` builds the driver wired with the learner's functions,
    ``reference()`` the driver model's own ``prepare`` variant; ``scenarios`` are the
    requests (default: ``SPEC.scenarios``).  The driver's mutants describe the default
    configuration, so they only name mistakes seen in a case with ``mutants=True``.
    """

    name: str
    learner: LearnerFactory
    reference: Callable[[], Driver]
    scenarios: tuple[Scenario, ...] | None = None
    mutants: bool = True
    #: The device state this case sets (keywords of the kit's device constructor, or a
    #: name for state an operation sets, e.g. a closed channel): a knob.
    knobs: Mapping[str, Any] = field(default_factory=dict)
    #: The rule of the contract a hook breaks when it ignores the knobs (an id of
    #: :data:`mmaplab.lab.diagnose.RULES`).
    pins: str = ""
    #: The reference on the default device: the knobs must change what it does.
    baseline: Callable[[], Driver] | None = None


@dataclass(frozen=True)
class ExerciseMutant:
    """A wrong answer the driver model has no mutant for: ``make()`` builds it for ``case``."""

    name: str
    misconception: str
    make: Callable[[], Driver]
    case: str


def subclass_with(base: type, overrides: dict[str, Any], prefix: str = "Your") -> type:
    """``base`` with the learner's functions as methods (``type(...)``, not a copy).

    The subclass is private (``_Your<base>``): what the check shows of a driver object
    (e.g. as ``vm_private_data``) names the public driver class, as for the reference.
    """
    return type(f"_{prefix}{base.__name__}", (base,), dict(overrides))


def _bind(dc: DriverCase, overrides: dict[str, Any]) -> Callable[[], Driver]:
    """The learner's driver for ``dc``, wired with ``overrides`` (built on each call)."""
    return lambda: dc.learner(overrides)


def pick(scenarios: Sequence[Scenario], *names: str) -> tuple[Scenario, ...]:
    """The scenarios called ``names`` (in the order given); KeyError for a typo."""
    by_name = {s.name: s for s in scenarios}
    return tuple(by_name[n] for n in names)


#: A request that ended in a NULL pointer dereference, as the mutant matcher compares it:
#: the kernel event, not the language's words for it (a Python hook's AttributeError on
#: None, a C hook's oops), so that a C answer is named by its Python twin.
NULL_DEREF = "oops (NULL pointer dereference)"


def _result(step: Any) -> str:
    return NULL_DEREF if null_dereference(step.error) else str(step.result)


def _observed(steps: list[Any], upto: int | None = None) -> list[tuple[Any, ...]]:
    return [(_result(s), s.state, s.maps, s.ptes) for s in steps[:upto]]


def _same_prefix(make: Callable[[], Driver], d: Divergence) -> bool:
    return _observed(run_case(make, d.scenario), d.index + 1) == _observed(d.got_steps,
                                                                          d.index + 1)


class _MutantMatcher:
    """Names the mutant behind a divergence.

    A mutant matches when its run of the divergent scenario is the learner's up to the
    divergence.  When several match (two wrong ideas can look alike on one request),
    the learner's answer is replayed on every scenario of the case and the mutant that
    behaves like it on the most scenarios wins; ties go to the first listed.  A mutant
    written as an answer (``Mutant.answer``) is built in the divergent case itself, on
    that case's device, so it can be named in every case.
    """

    def __init__(self) -> None:
        #: (name, case names it applies to or None for all, case name -> factory)
        self.mutants: list[tuple[str, set[str] | None,
                                 Callable[[str], Callable[[], Driver] | None]]] = []
        #: name -> the rule the mutant breaks (``Mutant.breaks``)
        self.breaks: dict[str, str] = {}

    def add(self, name: str, cases: set[str] | None,
            make: Callable[[str], Callable[[], Driver] | None], breaks: str = "") -> None:
        self.mutants.append((name, cases, make))
        self.breaks[name] = breaks

    def best(self, d: Divergence) -> str | None:
        # A memo on the divergence itself (it is re-diagnosed by each renderer).
        if "mutant" in d.memo:
            cached: str | None = d.memo["mutant"]
            return cached
        with quiet_lockdep():
            choice = self._best(d)
        d.memo["mutant"] = choice
        return choice

    def candidates(self, d: Divergence) -> list[tuple[str, Callable[[], Driver]]]:
        out = []
        for n, cs, make in self.mutants:
            mk = make(d.case) if cs is None or d.case in cs else None
            if mk is not None:
                out.append((n, mk))
        return out

    def _best(self, d: Divergence) -> str | None:
        found = [(n, mk) for n, mk in self.candidates(d) if _same_prefix(mk, d)]
        # Two mistakes can look alike up to here: keep those that break the same rule.
        same_rule = [(n, mk) for n, mk in found if self.breaks.get(n) == d.rule]
        found = same_rule or found
        choice = found[0][0] if found else None
        if len(found) > 1 and d.source is not None:
            mine = [_observed(run_case(d.source.learner, s)) for s in d.source.scenarios]
            scores = [(sum(_observed(run_case(mk, s)) == m
                           for s, m in zip(d.source.scenarios, mine, strict=True)), -i, n)
                      for i, (n, mk) in enumerate(found)]
            choice = max(scores)[2]
        return choice

    def rule(self, name: str) -> Callable[[Divergence], bool]:
        return lambda d: self.best(d) == name


def _spec_mutant(module: str, index: int) -> Callable[[], Driver]:
    def make() -> Driver:
        spec = importlib.import_module(f"mmaplab.drivers.{module}").SPEC
        return spec.mutants[index].make()
    return make


def _always(make: Callable[[], Driver]) -> Callable[[str], Callable[[], Driver] | None]:
    """A mutant factory that is the same in every case it applies to."""
    return lambda _case: make


def _title(text: str) -> str:
    return text.split(":")[0].strip()


def _body(text: str) -> str:
    """A kit's misconception text is ``title: explanation``: the explanation alone (the
    diagnosis prints the title on its own line; empty when the text is all title)."""
    return text.partition(":")[2].strip()


def _need(name: str, obj: Any, want: tuple[str, ...] | type) -> Any:
    """The learner's ``name``: a function taking ``want`` (parameter names), or an
    instance of ``want`` (a type, e.g. a ``vm_operations_struct``)."""
    if isinstance(want, type):
        return need_instance(name, obj, want, f"a {want.__name__}")
    return need_function(name, obj, want)


def driver_exercise(*, nn: str, module: str, cls: str,
                    methods: dict[str, tuple[str, ...] | type],
                    extra_misconceptions: tuple[Misconception, ...]
                    = (), extra_rules: list | None = None,
                    make_kwargs: dict[str, Any] | None = None,
                    cases: Callable[[Any], list[DriverCase]] | None = None,
                    reference: Callable[[], tuple[Any, ...]] | None = None,
                    mutants: tuple[ExerciseMutant, ...] = (),
                    spec_mutants: bool = True, label: str | None = None,
                    more_mutants: tuple[str, ...] = (), kind: str = "driver",
                    devices: tuple[str, ...] | None = None,
                    fixed_knobs: Mapping[str, str] | None = None) -> Exercise:
    """An :class:`Exercise` for ``mmaplab.drivers.<module>``'s ``prepare`` variant.

    ``methods``: function name -> parameter names (``self`` first for methods) the
    learner defines.  By default they override methods of ``<module>.<cls>`` and one
    case runs ``SPEC.scenarios`` on ``cls("prepare", **make_kwargs)``; ``cases(mod)``
    replaces that with its own list of :class:`DriverCase` (``mod`` is the driver
    module), and ``reference()`` returns the reference functions (default: the
    methods of ``cls``).  ``more_mutants``: other kits whose mutants answer this
    exercise too (their ``answer`` names are the exercise's).  ``kind="concept"``: the
    module is a concept kit (exercises 01-04), not a driver of the series; ``methods``
    may then name objects too (the value is the type the answer must be an instance of).
    ``devices``: the kit's classes whose keyword-only constructor parameters are the
    device's knobs (default: ``cls``); every knob is set by a case (``DriverCase.knobs``)
    or named in ``fixed_knobs`` with the reason it is not a knob of this exercise.
    """
    kwargs = make_kwargs or {}

    def load() -> Any:
        return importlib.import_module(f"mmaplab.drivers.{module}")

    def default_cases(mod: Any) -> list[DriverCase]:
        base = getattr(mod, cls)
        return [DriverCase(module, lambda ov: subclass_with(base, ov)("prepare", **kwargs),
                           lambda: base("prepare", **kwargs))]

    build = cases or default_cases

    def make_cases(*fns: Any) -> list[Case]:
        if len(fns) != len(methods):
            raise TypeError(f"expected {len(methods)} functions, got {len(fns)}")
        overrides = {name: _need(name, fn, params)
                     for (name, params), fn in zip(methods.items(), fns, strict=True)}
        mod = load()
        out = []
        for dc in build(mod):
            scen = dc.scenarios if dc.scenarios is not None else tuple(mod.SPEC.scenarios)
            out.append(Case(dc.name, _bind(dc, overrides), dc.reference, scen))
        return out

    def reference_args() -> tuple[Any, ...]:
        if reference is not None:
            return reference()
        base = getattr(load(), cls)
        return tuple(getattr(base, name) for name in methods)

    def catalogue(spec: Any) -> list[tuple[str, tuple[Any, ...]]]:
        """Each of the kit's mutants written as an answer, as the answer tuple."""
        ref = dict(zip(methods, reference_args(), strict=True))
        return [(m.name, tuple({**ref, **m.answer}[n] for n in methods))
                for m in all_mutants(spec) if m.answer and set(m.answer) <= set(methods)]

    def all_mutants(spec: Any) -> list[Any]:
        more = [m for name in more_mutants
                for m in importlib.import_module(f"mmaplab.drivers.{name}").SPEC.mutants]
        return [*spec.mutants, *more]

    mod = load()
    spec = mod.SPEC
    mutant_cases = {dc.name for dc in build(mod) if dc.mutants}
    mis: dict[str, Misconception] = {}
    rules = list(extra_rules or [])
    matcher = _MutantMatcher()
    for m in mutants:
        mis[m.name] = Misconception(m.name, _title(m.misconception), _body(m.misconception))
        matcher.add(m.name, {m.case}, _always(m.make))
    by_case = {dc.name: dc for dc in build(mod)}

    def in_case(answer: dict[str, Any]) -> Callable[[str], Callable[[], Driver] | None]:
        """The mutant's answer (the reference for the functions it leaves alone), wired
        into a case's device the way the learner's answer is."""
        def make(case: str) -> Callable[[], Driver] | None:
            dc = by_case.get(case)
            if dc is None:
                return None
            ov = {**dict(zip(methods, reference_args(), strict=True)), **answer}
            return lambda: dc.learner(ov)
        return make

    if spec_mutants:
        for i, sm in enumerate(all_mutants(spec)):
            if sm.answer and not set(sm.answer) <= set(methods):
                continue  # another exercise's mistake (it replaces other functions)
            if i >= len(spec.mutants) and not sm.answer:
                continue  # another kit's harness-only mutant
            rule = RULES.get(sm.breaks)
            mis.setdefault(sm.name, Misconception(sm.name, _title(sm.misconception),
                                                  _body(sm.misconception),
                                                  rule.hint if rule is not None else None))
            if sm.answer and set(sm.answer) <= set(methods):
                matcher.add(sm.name, None, in_case(dict(sm.answer)), sm.breaks)
            else:
                matcher.add(sm.name, mutant_cases, _always(_spec_mutant(module, i)), sm.breaks)
    rules += [(name, matcher.rule(name)) for name in dict.fromkeys(n for n, _, _ in
                                                                   matcher.mutants)]
    mis.update({m.id: m for m in extra_misconceptions})
    return Exercise(
        nn=nn, slug=module, kind=kind,
        label=label or f"{module} mmap_prepare",
        answer_names=tuple(methods), cases=make_cases, misconceptions=mis, rules=rules,
        driver=module if kind == "driver" else None, extra={
            "reference_args": reference_args, "catalogue": lambda: catalogue(load().SPEC),
            "driver_cases": lambda: build(load()),
            "devices": lambda: tuple(getattr(load(), c) for c in (devices or (cls,))),
            "fixed_knobs": dict(fixed_knobs or {})})
