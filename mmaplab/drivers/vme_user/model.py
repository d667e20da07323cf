"""drivers/staging/vme_user: mapping a VME master window, before and after the series.

Models ``vme_user_mmap()``/``vme_user_master_mmap()`` (drivers/staging/vme_user/vme_user.c)
and ``vme_master_mmap()`` (drivers/staging/vme_user/vme.c) as of Linux 7.0 before the
series (``legacy``), and ``vme_user_mmap_prepare()``/``vme_user_master_mmap_prepare()``/
``vme_master_mmap_prepare()``/``vme_user_vm_mapped()`` as converted by v4 16/21
"staging: vme_user: replace deprecated mmap hook with mmap_prepare" (``prepare``;
identical to upstream torvalds/linux @334fbe734e68).

The state the hook depends on: the fixed minor-type table (minors 0-3 are master
windows, 4-7 slave windows, 8 the control device), one ``image_desc`` per minor
(mutex, the ``vme_resource`` of the window, ``mmap_count``), and the per-mapping
``vme_user_vma_priv`` (minor, refcnt) that split/forked VMAs share.

Two properties worth noticing, both kept faithfully:

* The offset is applied twice (once to the physical address, once by
  ``vm_iomap_memory()``/``simple_ioremap_prepare()``), so any nonzero offset is
  refused with EINVAL in both versions.
* In the converted driver the ``vme_user_vma_priv`` only exists once ``mapped``
  ran.  If the remap fails after the VMA was inserted (or ``mapped`` itself fails),
  the VMA is unmapped and ``vme_user_vm_close()`` dereferences a NULL
  ``vm_private_data``: the model reports that oops as a :class:`HookError`.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from ...kernel.errors import HookError
from ...kernel.flags import PAGE_SHIFT, PAGE_SIZE
from ...kernel.fs import File, FileOperations, FMode, Inode
from ...kernel.locks import RwSemaphore
from ...kernel.memory import vm_iomap_memory
from ...kernel.mm_types import Ref, VmAreaDesc, VmAreaStruct, VmOperationsStruct, vma_desc_size
from ...kernel.mmap_action import mmap_action_simple_ioremap
from ...kernel.pgtable import pgprot_noncached
from ..base import (
    Driver,
)

#: ``VME_MAJOR`` (drivers/staging/vme_user/vme_user.h).
VME_MAJOR = 221
#: ``VME_DEVS``: 4 master, 4 slave, 1 control minor.
VME_DEVS = 9
MASTER_MINOR, SLAVE_MINOR, CONTROL_MINOR = 0, 1, 2
#: ``type[]`` in vme_user.c: the kind of each minor.
MINOR_TYPE = (MASTER_MINOR,) * 4 + (SLAVE_MINOR,) * 4 + (CONTROL_MINOR,)
#: ``enum vme_resource_type`` (vme.h).
VME_MASTER, VME_SLAVE, VME_DMA, VME_LM = 0, 1, 2, 3

#: Physical base of the modelled master window (page aligned), as the bridge maps it.
WINDOW_PHYS = 0xC000_0000


@dataclass
class Resource:
    """``struct resource`` (include/linux/ioport.h): ``[start, end]``, end inclusive."""

    start: int
    end: int


@dataclass
class VmeResource:
    """``struct vme_resource`` + ``vme_master_resource->bus_resource`` (inclusive end).

    In the kernel, ``resource->entry`` points into the bridge's ``vme_master_resource``
    and ``list_entry()`` finds it; here one object stands for both (:meth:`container_of`),
    so a C hook reads ``image->bus_resource.start`` as the kernel writes it.
    """

    type: int
    bus_start: int
    bus_end: int

    @property
    def entry(self) -> VmeResource:
        """``resource->entry``: the ``list`` member of the master resource (this object)."""
        return self

    def container_of(self, type_name: str, member: str) -> VmeResource:
        """``list_entry(resource->entry, struct vme_master_resource, list)``."""
        if (type_name, member) != ("struct vme_master_resource", "list"):
            raise LookupError(f"a VME resource's entry is not the {member} of {type_name}")
        return self

    @property
    def bus_resource(self) -> Resource:
        """``vme_master_resource->bus_resource``: the window on the VME bus."""
        return Resource(self.bus_start, self.bus_end)


@dataclass
class VmeBridge:
    """``struct vme_bridge`` as the mmap path uses it: ``parent``, for ``dev_err()``."""

    parent: Any = None


@dataclass
class VmeUserVmaPriv:
    """``struct vme_user_vma_priv``: one per mmap() call, shared by its split/forked VMAs."""

    minor: int
    refcnt: int
    freed: bool = False


class ImageDesc:
    """``struct image_desc`` (the fields the mmap path uses)."""

    def __init__(self, minor: int, resource: VmeResource | None) -> None:
        self.mutex = RwSemaphore(f"&image[{minor}].mutex", "vme_image_desc.mutex")
        self.resource = resource
        self.mmap_count = 0


def _deref(priv: Any, hook: str) -> VmeUserVmaPriv:
    """Model a C pointer dereference: NULL (or freed) is an oops, reported readably."""
    if priv is None:
        raise HookError(hook, "BUG: kernel NULL pointer dereference: vma->vm_private_data is "
                        "NULL (close() ran on a VMA whose mapped() never allocated the "
                        "vme_user_vma_priv)", errno.EFAULT)
    if priv.freed:
        raise HookError(hook, "use-after-free of a vme_user_vma_priv", errno.EFAULT)
    return priv


class VmeUser(Driver):
    """The vme_user device (its master windows) in one variant.

    ``minor`` is the device node :meth:`open` returns (0-3 master, 4-7 slave,
    8 control); ``window_pages``/``resource_type`` describe the master window
    behind minor 0-3.  ``noncached`` is turned off by a mutant only.
    """

    name = "vme_user"

    def __init__(self, variant: str = "prepare", *, minor: int = 0, window_pages: int = 4,
                 resource_type: int = VME_MASTER) -> None:
        super().__init__(variant)
        self.minor = minor
        self.image = []
        for m in range(VME_DEVS):
            res = None
            if MINOR_TYPE[m] == MASTER_MINOR:
                start = WINDOW_PHYS + m * 0x100_0000
                res = VmeResource(resource_type, start, start + window_pages * PAGE_SIZE - 1)
            self.image.append(ImageDesc(m, res))
        self.privs: list[VmeUserVmaPriv] = []
        self.vm_ops = VmOperationsStruct(name="vme_user_vm_ops", open=self.vme_user_vm_open,
                                         close=self.vme_user_vm_close)
        if variant == "legacy":
            self.fops = FileOperations(name="vme_user_fops", mmap=self.vme_user_mmap)
        else:
            self.vm_ops = VmOperationsStruct(name="vme_user_vm_ops", open=self.vme_user_vm_open,
                                             close=self.vme_user_vm_close,
                                             mapped=self.vme_user_vm_mapped)
            self.fops = FileOperations(name="vme_user_fops",
                                       mmap_prepare=self.vme_user_mmap_prepare)
        self.inodes = [Inode(_node_name(m), 0, dev=(VME_MAJOR, m)) for m in range(VME_DEVS)]

    # -- device nodes -----------------------------------------------------------
    def open(self, mode: FMode = FMode.READ | FMode.WRITE) -> File:
        """``vme_user_open``-less char device open: a file on ``/dev/bus/vme/<node>``."""
        return File(self.inodes[self.minor], self.fops, mode)

    def observe(self) -> dict[str, Any]:
        live = [p for p in self.privs if not p.freed]
        return {"mmap_count": self.image[self.minor].mmap_count,
                "vma_priv_live": len(live),
                "vma_priv_refcnt": sorted(p.refcnt for p in live)}

    def find_bridge(self, resource: VmeResource) -> VmeBridge:
        """``find_bridge()`` (vme.c): the bridge a resource belongs to (one, here)."""
        return VmeBridge()

    def kmalloc(self, size: int, flags: int) -> VmeUserVmaPriv:
        """The slab a C hook's ``kmalloc()`` uses on this device: its one allocation on
        the mmap path is the ``vme_user_vma_priv``, which the model tracks (``privs``)
        and the C fills in (``minor``, ``refcount_set(&refcnt, 1)``)."""
        priv = VmeUserVmaPriv(-1, 0)
        self.privs.append(priv)
        return priv

    # -- vme.c ---------------------------------------------------------------------
    def vme_master_mmap(self, resource: VmeResource, vma: VmAreaStruct) -> int:
        """``vme_master_mmap()`` (vme.c, pre-series): window check, noncached, vm_iomap_memory."""
        if resource.type != VME_MASTER:
            self.log.append("vme_master_mmap: Not a master resource")
            return -errno.EINVAL
        phys_addr = resource.bus_start + (vma.vm_pgoff << PAGE_SHIFT)
        vma_size = vma.vm_end - vma.vm_start
        if phys_addr + vma_size > resource.bus_end + 1:
            self.log.append("vme_master_mmap: Map size cannot exceed the window size")
            return -errno.EFAULT
        vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
        return vm_iomap_memory(vma, phys_addr, vma.vm_end - vma.vm_start)

    def vme_master_mmap_prepare(self, resource: VmeResource, desc: VmAreaDesc) -> int:
        """``vme_master_mmap_prepare()`` (vme.c, v4 16/21): same checks on the descriptor,
        then ``mmap_action_simple_ioremap()``."""
        vma_size = vma_desc_size(desc)
        if resource.type != VME_MASTER:
            self.log.append("vme_master_mmap: Not a master resource")
            return -errno.EINVAL
        phys_addr = resource.bus_start + (desc.pgoff << PAGE_SHIFT)
        if phys_addr + vma_size > resource.bus_end + 1:
            self.log.append("vme_master_mmap: Map size cannot exceed the window size")
            return -errno.EFAULT
        desc.page_prot = pgprot_noncached(desc.page_prot)
        mmap_action_simple_ioremap(desc, phys_addr, vma_size)
        return 0


    # -- vme_user.c, legacy ----------------------------------------------------------
    def vme_user_mmap(self, file: File, vma: VmAreaStruct) -> int:
        """``vme_user_mmap()`` (vme_user.c, pre-series): master minors only (ENODEV)."""
        minor = file.f_inode.dev[1]
        if MINOR_TYPE[minor] == MASTER_MINOR:
            return self.vme_user_master_mmap(minor, vma)
        return -errno.ENODEV

    def vme_user_master_mmap(self, minor: int, vma: VmAreaStruct) -> int:
        """``vme_user_master_mmap()`` (pre-series): map, then allocate the vma_priv."""
        img = self.image[minor]
        img.mutex.down_write("vme_user_master_mmap")
        try:
            assert img.resource is not None
            err = self.vme_master_mmap(img.resource, vma)
            if err:
                return err
            priv = self._kmalloc_priv(minor)
            vma.vm_ops = self.vm_ops
            vma.vm_private_data = priv
            img.mmap_count += 1
            return 0
        finally:
            img.mutex.up_write()

    # -- vme_user.c, converted ---------------------------------------------------------
    def vme_user_mmap_prepare(self, desc: VmAreaDesc) -> int:
        """``vme_user_mmap_prepare()`` (v4 16/21): master minors only (ENODEV)."""
        minor = desc.file.f_inode.dev[1]
        if MINOR_TYPE[minor] == MASTER_MINOR:
            return self.vme_user_master_mmap_prepare(minor, desc)
        return -errno.ENODEV

    def vme_user_master_mmap_prepare(self, minor: int, desc: VmAreaDesc) -> int:
        """``vme_user_master_mmap_prepare()`` (v4 16/21): checks + action; vm_ops on success."""
        img = self.image[minor]
        img.mutex.down_write("vme_user_master_mmap_prepare")
        try:
            err = self.vme_master_mmap_prepare(img.resource, desc)  # type: ignore[arg-type]  # set
            if not err:
                desc.vm_ops = self.vm_ops
            return err
        finally:
            img.mutex.up_write()

    def vme_user_vm_mapped(self, start: int, end: int, pgoff: int, file: File,
                           vm_private_data: Ref) -> int:
        """``vme_user_vm_mapped()`` (v4 16/21): allocate the vma_priv, count the mapping."""
        minor = file.f_inode.dev[1]
        img = self.image[minor]
        img.mutex.down_write("vme_user_vm_mapped")
        try:
            vm_private_data.value = self._kmalloc_priv(minor)
            img.mmap_count += 1
            return 0
        finally:
            img.mutex.up_write()

    def _kmalloc_priv(self, minor: int) -> VmeUserVmaPriv:
        """``kmalloc_obj(*vma_priv)`` + ``refcount_set(&refcnt, 1)``."""
        priv = VmeUserVmaPriv(minor, 1)
        self.privs.append(priv)
        self.log.append(f"vma_priv allocated for minor {minor}")
        return priv

    # -- vm_ops (both variants) -----------------------------------------------------------
    def vme_user_vm_open(self, vma: VmAreaStruct) -> None:
        """``vme_user_vm_open()``: ``refcount_inc(&vma_priv->refcnt)`` (split, fork)."""
        priv = _deref(vma.vm_private_data, "vme_user_vm_ops->open")
        priv.refcnt += 1

    def vme_user_vm_close(self, vma: VmAreaStruct) -> None:
        """``vme_user_vm_close()``: last reference drops ``mmap_count`` and frees the priv."""
        priv = _deref(vma.vm_private_data, "vme_user_vm_ops->close")
        priv.refcnt -= 1
        if priv.refcnt:
            return
        img = self.image[priv.minor]
        img.mutex.down_write("vme_user_vm_close")
        try:
            img.mmap_count -= 1
        finally:
            img.mutex.up_write()
        priv.freed = True
        self.log.append(f"vma_priv freed for minor {priv.minor}")


def _node_name(minor: int) -> str:
    kind = MINOR_TYPE[minor]
    if kind == MASTER_MINOR:
        return f"/dev/bus/vme/m{minor}"
    if kind == SLAVE_MINOR:
        return f"/dev/bus/vme/s{minor - 4}"
    return "/dev/bus/vme/ctl"
