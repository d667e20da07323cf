"""Exercise 01: pick the right mmap action for three legacy hooks.

The devices, their legacy hooks and the reference conversion are the concept kit
``mmaplab.drivers.pick_action`` (``model``); its requests are ``spec``, its realistic
wrong answers ``mutants``.  Here: how the learner's three hooks are wired into the
devices, and the device configurations checked besides the default.
"""

from __future__ import annotations

from typing import Any

from ..kernel.fs import FileOperations
from ._driver_exercise import DriverCase, driver_exercise, pick

_HOOKS = ("fb_mmap_prepare", "regs_mmap_prepare", "buf_mmap_prepare")


def _reference() -> tuple[Any, ...]:
    from ..drivers import pick_action as kit

    return tuple(getattr(kit, h) for h in _HOOKS)


def _cases(mod: Any) -> list[DriverCase]:
    def case(name: str, dev: type, hook: str, scenarios: Any, pins: str = "",
             **config: Any) -> DriverCase:
        fops = hook.split("_")[0] + "_fops"
        return DriverCase(
            name,
            lambda ov: dev("prepare", FileOperations(name=fops, mmap_prepare=ov[hook]),
                           **config),
            lambda: dev("prepare", **config), scenarios, mutants=True, knobs=config,
            pins=pins, baseline=(lambda: dev("prepare")) if config else None)

    return [case("fb", mod.FbDev, "fb_mmap_prepare", mod.FB),
            case("regs", mod.RegsDev, "regs_mmap_prepare", mod.REGS),
            case("buf", mod.BufDev, "buf_mmap_prepare", mod.BUF),
            # A register block of two pages elsewhere: now a two-page request is served
            # ([lost-check] against dev->len, not PAGE_SIZE; the address is dev->phys).
            case("regs, two-page block", mod.RegsDev, "regs_mmap_prepare",
                 pick(mod.REGS, "two pages", "offset 1"), "lost-check", len=0x2000,
                 phys=0xFEB00000),
            # A frame buffer elsewhere in physical memory, of 8 pages ([range] the pfn
            # comes from base_pfn; [lost-check] the bound from nr_pages).
            case("fb, 8 pages elsewhere", mod.FbDev, "fb_mmap_prepare",
                 pick(mod.FB, "too large", "window at an offset"), "range", base_pfn=0xE0000,
                 nr_pages=8),
            case("buf, 2 pages", mod.BufDev, "buf_mmap_prepare",
                 pick(mod.BUF, "whole buffer", "tail of the buffer"), "lost-check", nr_pages=2)]


EXERCISE = driver_exercise(
    nn="01", module="pick_action", cls="FbDev", kind="concept",
    label="fb, regs and buf mmap_prepare",
    methods={h: ("desc",) for h in _HOOKS}, cases=_cases, reference=_reference,
    devices=("FbDev", "RegsDev", "BufDev"))
