"""Helpers shared by the driver tests: map a driver's file at the test window."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmaplab import MAP_FIXED, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, PROT_WRITE, HookError
from mmaplab.drivers.base import WINDOW, Driver
from mmaplab.kernel.fs import FMode

VARIANTS = ("legacy", "prepare")
RW = PROT_READ | PROT_WRITE
P = PAGE_SIZE


def try_mmap(drv, pages, prot=PROT_READ, flags=MAP_SHARED, offset_pages=0,
             mode=FMode.READ | FMode.WRITE):
    """(mm, address) of mapping a fresh open of ``drv`` at the window, or (mm, -errno)."""
    mm = MM(sanitize=False)
    f = drv.open(mode)
    try:
        return mm, mm.mmap(WINDOW, pages * PAGE_SIZE, prot, flags | MAP_FIXED, f,
                           offset_pages * PAGE_SIZE)
    except OSError as exc:
        return mm, -exc.errno


def both(make, *args, **kw):
    """:func:`try_mmap` on the legacy and on the converted driver."""
    return [(v, *try_mmap(make(v), *args, **kw)) for v in VARIANTS]


def new_mm(**kw: object) -> MM:
    return MM(sanitize=False, **kw)  # type: ignore[arg-type]


def mmap(mm: MM, drv_or_file: Driver | object, pages: int, offset_pages: int = 0,
         prot: int = RW, flags: int = MAP_SHARED, page: int = 0) -> int:
    """Map ``pages`` of a driver (a fresh open) or a file at ``WINDOW + page`` pages."""
    file = drv_or_file.open() if isinstance(drv_or_file, Driver) else drv_or_file
    return mm.mmap(WINDOW + page * P, pages * P, prot, flags | MAP_FIXED, file,
                   offset_pages * P)


def errno_of(fn: Callable[[], object]) -> int:
    """The errno ``fn`` fails with (not a HookError: a diagnosed hook bug)."""
    with pytest.raises(OSError) as info:
        fn()
    assert not isinstance(info.value, HookError), info.value
    return info.value.errno
