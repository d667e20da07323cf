"""Driver models of the "mm: expand mmap_prepare functionality" v4 series.

One module per driver the series converts, each with a ``legacy`` variant
(``f_op->mmap`` as before the series) and a ``prepare`` variant
(``f_op->mmap_prepare`` as after it) and a module-level ``SPEC``
(:class:`~mmaplab.drivers.base.DriverSpec`).  :data:`NAMES` lists them in series
order; :func:`load_spec` imports one; :func:`all_specs` / ``ALL_SPECS`` import all
(lazily: importing this package imports no driver module).  The equivalence harness
is :mod:`mmaplab.lab.compare`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import DriverSpec

__all__ = ["NAMES", "CONCEPTS", "load_spec", "all_specs", "config_specs", "ALL_SPECS"]

#: Module names under ``mmaplab.drivers``, in the order of the v4 series' patches
#: (afs 09+10, open-dice 12, hpet 13, mtdchar 14, stm 15, vme_user 16, hv_vmbus 18,
#: uio 19, uio_hv_generic 19, target_core_user 20).
NAMES: tuple[str, ...] = (
    "afs", "open_dice", "hpet", "mtdchar", "stm",
    "vme_user", "hv_vmbus", "uio", "uio_hv_generic", "target_core_user",
)

#: Concept kits: the made-up, kernel-shaped devices of exercises 01-04 (not drivers of the
#: series), laid out like the driver kits (model, spec, mutants).
CONCEPTS: tuple[str, ...] = ("pick_action", "mapped_refcount", "private_data", "compat_layer")


def load_spec(name: str) -> DriverSpec:
    """The ``SPEC`` of ``mmaplab.drivers.<name>`` (``name`` must be in :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(f"unknown driver model {name!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").SPEC


def all_specs() -> tuple[DriverSpec, ...]:
    """Every driver's ``SPEC``, in :data:`NAMES` order."""
    return tuple(load_spec(n) for n in NAMES)


def config_specs(name: str) -> tuple[DriverSpec, ...]:
    """Extra device configurations of one driver (its module's ``CONFIG_SPECS``, if any):
    e.g. hpet with ``hpet_mmap=0``, stm without an ``mmio_addr`` callback."""
    load_spec(name)
    return tuple(getattr(importlib.import_module(f"{__name__}.{name}"), "CONFIG_SPECS", ()))


def __getattr__(attr: str) -> Any:
    """``ALL_SPECS`` is computed on first access (module ``__getattr__``, PEP 562)."""
    if attr == "ALL_SPECS":
        specs = all_specs()
        globals()["ALL_SPECS"] = specs
        return specs
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
