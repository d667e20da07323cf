"""What backs the header: generated constants, and the model function behind each helper.

``constants()`` writes the ``#define``\\ s the header relies on from the model's own
tables (errnos from Python's ``errno``, ``VM_*`` and ``VMA_*_BIT`` from
:class:`~mmaplab.kernel.flags.VMFlag`, ``PAGE_*``, ``FMODE_*``), so every fact is
written once.  ``HELPERS`` maps each function the header declares to the model
function that implements it; the front end converts arguments by the prototype.
``LEGACY_VMA_HELPERS`` names, for each helper of the deprecated ``->mmap`` world, the
``mmap_prepare`` way to do the same thing.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ..drivers.hv_vmbus import model as hv_vmbus
from ..drivers.mtdchar import model as mtdchar
from ..drivers.uio import model as uio
from ..drivers.vme_user import model as vme_user
from ..kernel import compat, memory, pgtable
from ..kernel import mm_types as mt
from ..kernel import mmap_action as act
from ..kernel.filemap import filemap_fault
from ..kernel.flags import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, VMFlag
from ..kernel.fs import FMode
from ..kernel.mm_types import VmAreaDesc, VmAreaStruct, vma_pages
from ..kernel.page_alloc import pfn_to_page
from ..kernel.vma_flags import mk_vma_flags
from .runtime import CObject, FieldRef

__all__ = ["constants", "HELPERS", "LEGACY_VMA_HELPERS", "dmesg", "vma_flag_bit"]

#: The front end's kernel log: ``printk``/``pr_*`` lines and ``WARN_ON`` reports.
dmesg: list[str] = []
_DMESG_MAX = 1000


def _log(line: str) -> None:
    dmesg.append(line)
    del dmesg[:-_DMESG_MAX]


def vma_flag_bit(flag: VMFlag) -> int:
    """The ``VMA_*_BIT`` number of a one-bit :class:`VMFlag`."""
    return int(flag.value).bit_length() - 1


def constants() -> str:
    """``#define`` lines for the constants the header and hooks use."""
    out = [f"#define PAGE_SHIFT {PAGE_SHIFT}", f"#define PAGE_SIZE {PAGE_SIZE}UL",
           f"#define PAGE_MASK (~(PAGE_SIZE - 1))  /* {PAGE_MASK & (2**64 - 1):#x} */",
           "#define GFP_KERNEL 0xcc0U", "#define VM_NONE 0UL"]
    # Every name, aliases included (errorcode keeps one per number: ENOTSUP, not EOPNOTSUPP).
    for name in sorted(n for n in dir(errno) if n.startswith("E") and n.isupper()):
        out.append(f"#define {name} {getattr(errno, name)}")
    for flag in VMFlag:
        if flag.name and flag.value:
            out.append(f"#define VM_{flag.name} {int(flag.value):#x}UL")
            out.append(f"#define VMA_{flag.name}_BIT {vma_flag_bit(flag)}")
    for mode in FMode:
        if mode.name and mode.value:
            out.append(f"#define FMODE_{mode.name} {int(mode.value):#x}U")
    states = ", ".join(f"{s.name} = {int(s)}" for s in hv_vmbus.VmbusChannelState)
    out.append(f"enum vmbus_channel_state {{ {states} }};")
    out.append(f"#define MAX_UIO_MAPS {uio.MAX_UIO_MAPS}")
    for name in ("MTD_RAM", "MTD_ROM", "MTD_NORFLASH"):
        out.append(f"#define {name} {getattr(mtdchar, name)}")
    for name in ("VME_DEVS", "VME_MASTER", "VME_SLAVE", "VME_DMA", "VME_LM"):
        out.append(f"#define {name} {getattr(vme_user, name)}")
    for name in ("NONE", "PHYS", "LOGICAL", "VIRTUAL", "IOVA", "DMA_COHERENT"):
        out.append(f"#define UIO_MEM_{name} {getattr(uio, 'UIO_MEM_' + name)}")
    return "\n".join(out) + "\n"


# -- the descriptor's flags (include/linux/mm.h): the model's own vma_flags_t API ---------

def _container_of(ptr: Any, type_name: str, member: str) -> Any:
    owner = getattr(ptr, "container_of", None)
    if callable(owner):
        return owner(type_name, member)
    raise LookupError(f"container_of({type_name}, {member}): the model does not embed this "
                      "object in that structure")


# -- logging and warnings ---------------------------------------------------------------

def _printk(level: str) -> Callable[..., int]:
    def printk(fmt: str, *args: Any) -> int:
        try:
            text = fmt % args
        except (TypeError, ValueError):
            text = fmt
        _log(f"{level}{text.rstrip()}")
        return len(text)
    return printk


def _warn_on(cond: int, where: str = "") -> bool:
    if cond:
        _log(f"WARNING: {where or 'WARN_ON'}")
    return bool(cond)


def _compat_set_desc_from_vma(desc: VmAreaDesc, file: Any, vma: VmAreaStruct) -> None:
    """The kernel's form, which fills the caller's descriptor (the model returns one)."""
    filled = compat.compat_set_desc_from_vma(file, vma)
    for slot in VmAreaDesc.__slots__:
        if hasattr(filled, slot):
            object.__setattr__(desc, slot, getattr(filled, slot))


def _mmap_action_complete(vma: VmAreaStruct, action: Any) -> int:
    """``mmap_action_complete()`` as a stacked caller reaches it (a compat path)."""
    mm = vma.vm_mm
    assert mm is not None  # a VMA handed to ->mmap belongs to an mm
    return act.mmap_action_complete(mm, vma, action, is_compat=True)


def _kref_get(r: Any) -> None:
    r.value += 1


def _kref_get_owner(r: Any) -> None:
    """``kref_get(&obj->kref)``: the model's own ``kref_get()`` when the structure has one
    (it checks for a use after the last put), else a plain increment."""
    owner_get = getattr(getattr(r, "obj", None), "kref_get", None)
    if isinstance(r, FieldRef) and r.attr == "kref" and callable(owner_get):
        owner_get()
    else:
        _kref_get(r)


HELPERS: dict[str, Callable[..., Any]] = {
    "printk": _printk(""), "pr_info": _printk("info: "), "pr_err": _printk("err: "),
    "pr_warn": _printk("warn: "), "pr_debug": _printk("debug: "),
    "pr_notice": _printk("notice: "),
    "WARN_ON": _warn_on, "WARN_ON_ONCE": _warn_on,
    "WARN": lambda cond, fmt="", *a: _warn_on(cond, fmt),
    "__container_of": _container_of,
    "pgprot_noncached": pgtable.pgprot_noncached,
    "pgprot_writecombine": pgtable.pgprot_writecombine,
    "pgprot_decrypted": pgtable.pgprot_decrypted,
    "pgprot_encrypted": pgtable.pgprot_encrypted,
    "vma_desc_set_flags": mt.vma_desc_set_flags, "vma_desc_clear_flags": mt.vma_desc_clear_flags,
    "vma_desc_test": mt.vma_desc_test,
    "vma_desc_test_any": mt.vma_desc_test_any, "vma_desc_test_all": mt.vma_desc_test_all,
    "vma_desc_set_flags_mask": mt.vma_desc_set_flags_mask,
    "vma_desc_clear_flags_mask": mt.vma_desc_clear_flags_mask,
    "vma_desc_test_any_mask": mt.vma_desc_test_any_mask,
    "vma_desc_test_all_mask": mt.vma_desc_test_all_mask,
    "mk_vma_flags": mk_vma_flags,
    "vma_desc_size": mt.vma_desc_size,
    "vma_desc_pages": mt.vma_desc_pages,
    "vma_desc_is_cow_mapping": mt.vma_desc_is_cow_mapping,
    "mmap_action_remap": act.mmap_action_remap,
    "mmap_action_remap_full": act.mmap_action_remap_full,
    "mmap_action_ioremap": act.mmap_action_ioremap,
    "mmap_action_ioremap_full": act.mmap_action_ioremap_full,
    "mmap_action_simple_ioremap": act.mmap_action_simple_ioremap,
    "mmap_action_map_kernel_pages": act.mmap_action_map_kernel_pages,
    "mmap_action_map_kernel_pages_full": act.mmap_action_map_kernel_pages_full,
    "remap_pfn_range": memory.remap_pfn_range,
    "io_remap_pfn_range": memory.io_remap_pfn_range,
    "vm_iomap_memory": memory.vm_iomap_memory,
    "vm_insert_page": memory.vm_insert_page,
    "vm_map_pages": lambda vma, pages, n: memory.vm_map_pages(vma, list(pages)[:n]),
    "vm_map_pages_zero": lambda vma, pages, n: memory.vm_map_pages_zero(vma, list(pages)[:n]),
    "vm_flags_set": lambda vma, f: setattr(vma, "vm_flags", vma.vm_flags | VMFlag(f)),
    "vm_flags_clear": lambda vma, f: setattr(vma, "vm_flags", vma.vm_flags & ~VMFlag(f)),
    "vma_pages": vma_pages,
    "kmalloc": lambda size, gfp: CObject(zeroed=False),
    "kzalloc": lambda size, gfp: CObject(zeroed=True),
    "refcount_set": lambda r, n: setattr(r, "value", n),
    "refcount_inc": _kref_get,
    "kref_get": _kref_get_owner,
    "refcount_read": lambda r: r.value,
    "atomic_inc": _kref_get,
    "atomic_dec": lambda r: setattr(r, "value", r.value - 1),
    "atomic_read": lambda r: r.value,
    "atomic_set": lambda r, n: setattr(r, "value", n),
    "file_inode": lambda f: f.f_inode,
    "iminor": lambda inode: inode.dev[1],
    "dev_err": lambda dev, fmt, *a: _printk("err: ")(fmt, *a),
    # kernel/locking/mutex.c: the model's locks are RwSemaphores (lockdep-tracked)
    "mutex_lock": lambda m: m.down_write("mutex_lock"),
    "mutex_unlock": lambda m: m.up_write(),
    "IS_ERR": lambda p: isinstance(p, int) and -4095 <= p < 0,
    "PTR_ERR": lambda p: p if isinstance(p, int) else 0,
    "ERR_PTR": lambda e: e,
    "page_to_pfn": lambda page: page.pfn,
    "page_address": uio.page_address,
    "virt_to_phys": uio.virt_to_phys,
    "pfn_to_page": pfn_to_page,
    "filemap_fault": filemap_fault,
    "compat_set_desc_from_vma": _compat_set_desc_from_vma,
    "compat_set_vma_from_desc": compat.compat_set_vma_from_desc,
    "__compat_vma_mmap": compat.__compat_vma_mmap,
    "compat_vma_mmap": compat.compat_vma_mmap,
    "vfs_mmap": compat.vfs_mmap,
    "mmap_action_complete": _mmap_action_complete,
    # drivers/base/power/runtime.c: the model's struct device carries the PM state
    "pm_runtime_get_sync": lambda dev: dev.pm_runtime_get_sync(),
    "pm_runtime_get": lambda dev: dev.pm_runtime_get(),
    "pm_runtime_put_autosuspend": lambda dev: dev.pm_runtime_put_autosuspend(),
    "pm_runtime_mark_last_busy": lambda dev: None,
}


def _refcount_dec_and_test(r: Any) -> bool:
    r.value -= 1
    return bool(r.value == 0)


HELPERS["refcount_dec_and_test"] = _refcount_dec_and_test

#: Helpers that need the VMA to exist, with what an ``mmap_prepare`` hook uses instead.
LEGACY_VMA_HELPERS: dict[str, str] = {
    "remap_pfn_range": "mmap_action_remap(desc, start, pfn, size)",
    "io_remap_pfn_range": "mmap_action_ioremap(desc, start, pfn, size)",
    "vm_iomap_memory": "mmap_action_simple_ioremap(desc, phys, size)",
    "vm_insert_page": "mmap_action_map_kernel_pages(desc, start, pages, nr_pages)",
    "vm_map_pages": "mmap_action_map_kernel_pages_full(desc, pages)",
    "vm_map_pages_zero": "mmap_action_map_kernel_pages_full(desc, pages)",
    "vm_flags_set": "vma_desc_set_flags(desc, VMA_..._BIT, ...)",
    "vm_flags_clear": "vma_desc_clear_flags(desc, VMA_..._BIT, ...)",
    "vma_pages": "vma_desc_pages(desc)",
}

#: The model objects that stand for these C structure types (others are CObjects).
MODEL_TYPES: dict[str, type] = {"vm_area_desc": VmAreaDesc, "vm_area_struct": VmAreaStruct}
