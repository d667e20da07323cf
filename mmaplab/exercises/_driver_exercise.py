"""Driver exercises: the learner writes the converted methods of a real driver model.

The device state is the driver model's :class:`~mmaplab.drivers.base.Driver`
subclass (``mmaplab/drivers/<name>.py``).  The learner writes the methods that the
series changed, as plain functions taking ``self`` first; the check builds a
subclass of the driver class with those functions as methods, instantiates its
``prepare`` variant and compares it, request by request, with the driver model's
own ``prepare`` variant on the driver's scenarios (``SPEC.scenarios``).

Misconceptions come from the driver's realistic mutants (``SPEC.mutants``): when
the learner's run matches a mutant's run up to the first divergence, the check
names that mutant's misconception.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._core import Case, Divergence, Exercise, Misconception, run_case
from ._device import need_function

__all__ = ["driver_exercise"]


def _mutant_rule(module: str, index: int) -> Callable[[Divergence], bool]:
    def rule(d: Divergence) -> bool:
        spec = importlib.import_module(f"mmaplab.drivers.{module}").SPEC
        mutant = spec.mutants[index]
        steps = run_case(mutant.make, d.scenario)
        return [(s.result, s.state, s.maps, s.ptes) for s in steps[: d.index + 1]] == [
            (s.result, s.state, s.maps, s.ptes) for s in d.got_steps[: d.index + 1]]
    return rule


def driver_exercise(*, nn: str, module: str, cls: str, methods: dict[str, tuple[str, ...]],
                    title: str, intro: str, legacy_c: str, task: str, setup: str, stub: str,
                    hints: tuple[str, str, str], extra_misconceptions: tuple[Misconception, ...]
                    = (), extra_rules: list | None = None,
                    make_kwargs: dict[str, Any] | None = None) -> Exercise:
    """An :class:`Exercise` for ``mmaplab.drivers.<module>``'s ``prepare`` variant.

    ``methods``: method name -> parameter names (``self`` first) the learner defines.
    """
    kwargs = make_kwargs or {}

    def load() -> Any:
        return importlib.import_module(f"mmaplab.drivers.{module}")

    def cases(*fns: Any) -> list[Case]:
        if len(fns) != len(methods):
            raise TypeError(f"expected {len(methods)} functions, got {len(fns)}")
        overrides = {name: need_function(name, fn, params)
                     for (name, params), fn in zip(methods.items(), fns, strict=True)}
        mod = load()
        base = getattr(mod, cls)
        learner_cls = type(f"Your{cls}", (base,), overrides)
        return [Case(module, lambda: learner_cls("prepare", **kwargs),
                     lambda: base("prepare", **kwargs), tuple(mod.SPEC.scenarios))]

    def reference_args() -> tuple[Any, ...]:
        base = getattr(load(), cls)
        return tuple(getattr(base, name) for name in methods)

    spec = load().SPEC
    mis = {m.name: Misconception(m.name, m.misconception.split(":")[0].strip(),
                                 m.misconception) for m in spec.mutants}
    mis.update({m.id: m for m in extra_misconceptions})
    rules = list(extra_rules or []) + [(m.name, _mutant_rule(module, i))
                                       for i, m in enumerate(spec.mutants)]
    slug = module
    return Exercise(
        nn=nn, slug=slug, title=title, kind="driver", label=f"{module} mmap_prepare",
        answer_names=tuple(methods), cases=cases, misconceptions=mis, rules=rules, hints=hints,
        intro=intro, legacy_c=legacy_c, task=task, setup_code=setup, stub=stub, driver=module,
        extra={"reference_args": reference_args})
