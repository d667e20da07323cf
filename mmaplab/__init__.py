"""mmaplab: an executable model of the Linux mmap path and its ``mmap_prepare`` hook.

The model follows Linux 7.0 with the "mm: expand mmap_prepare functionality"
v4 series applied (see :mod:`mmaplab.kernel.config` for the later fixes).  Start with
:class:`MM` and :class:`RegularFile`; see ARCHITECTURE.md for the module map.

The public names are imported on first use (PEP 562 ``__getattr__``): ``import mmaplab``
costs nothing, so a shell check of one exercise loads only the model modules that
exercise needs.  ``from mmaplab import MM`` and ``from mmaplab import *`` work as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Where each public name lives: module (relative to this package) -> names.  The one
#: list of the public surface; the ``TYPE_CHECKING`` block below repeats it for type
#: checkers, and ``tests/kernel/test_public_surface.py`` keeps the two equal.
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".kernel.config": (
        "V4", "V4_FIXED", "KernelConfig", "MemEncrypt",
    ),
    ".kernel.errors": (
        "BusError", "DeadlockError", "HookError", "HookViolation", "KernelError",
        "SegmentationFault", "UseAfterFreeError",
    ),
    ".kernel.filemap": (
        "RegularFile",
    ),
    ".kernel.flags": (
        "MADV_DODUMP", "MADV_DOFORK", "MADV_DONTDUMP", "MADV_DONTFORK", "MADV_DONTNEED",
        "MADV_KEEPONFORK", "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
        "MADV_WIPEONFORK", "MAP_ANONYMOUS", "MAP_DROPPABLE", "MAP_FIXED", "MAP_FIXED_NOREPLACE",
        "MAP_GROWSDOWN", "MAP_LOCKED", "MAP_NORESERVE", "MAP_POPULATE", "MAP_PRIVATE",
        "MAP_SHARED", "MAP_SHARED_VALIDATE", "MAP_STACK", "MAP_TYPE", "MCL_CURRENT", "MCL_FUTURE",
        "MCL_ONFAULT", "MLOCK_ONFAULT", "MREMAP_DONTUNMAP", "MREMAP_FIXED", "MREMAP_MAYMOVE",
        "PAGE_SHIFT", "PAGE_SIZE", "PROT_EXEC", "PROT_GROWSDOWN", "PROT_GROWSUP", "PROT_NONE",
        "PROT_READ", "PROT_SEM", "PROT_WRITE", "RLIM_INFINITY", "VM_SPECIAL", "VMFlag",
    ),
    ".kernel.fs": (
        "File", "FileOperations", "FMode", "Inode",
    ),
    ".kernel.mm": (
        "MM",
    ),
    ".kernel.mm_types": (
        "MmapAction", "MmapActionType", "Ref", "VmAreaDesc", "VmAreaStruct", "VmFault",
        "VmOperationsStruct", "vma_desc_clear_flags", "vma_desc_clear_flags_mask",
        "vma_desc_is_cow_mapping", "vma_desc_pages", "vma_desc_set_flags",
        "vma_desc_set_flags_mask", "vma_desc_size", "vma_desc_test", "vma_desc_test_all",
        "vma_desc_test_all_mask", "vma_desc_test_any", "vma_desc_test_any_mask", "vma_pages",
    ),
    ".kernel.pgtable": (
        "Pgprot", "pgprot_decrypted", "pgprot_encrypted", "pgprot_noncached",
        "pgprot_writecombine",
    ),
    ".kernel.vma_flags": (
        "EMPTY_VMA_FLAGS", "VMA_ACCOUNT_BIT", "VMA_ARCH_1_BIT", "VMA_DONTCOPY_BIT",
        "VMA_DONTDUMP_BIT", "VMA_DONTEXPAND_BIT", "VMA_DROPPABLE_BIT", "VMA_EXEC_BIT",
        "VMA_GROWSDOWN_BIT", "VMA_HUGEPAGE_BIT", "VMA_HUGETLB_BIT", "VMA_IO_BIT", "VMA_LOCKED_BIT",
        "VMA_LOCKONFAULT_BIT", "VMA_MAYBE_GUARD_BIT", "VMA_MAYEXEC_BIT", "VMA_MAYREAD_BIT",
        "VMA_MAYSHARE_BIT", "VMA_MAYWRITE_BIT", "VMA_MERGEABLE_BIT", "VMA_MIXEDMAP_BIT",
        "VMA_NOHUGEPAGE_BIT", "VMA_NORESERVE_BIT", "VMA_PFNMAP_BIT", "VMA_RAND_READ_BIT",
        "VMA_READ_BIT", "VMA_SEALED_BIT", "VMA_SEQ_READ_BIT", "VMA_SHARED_BIT",
        "VMA_SOFTDIRTY_BIT", "VMA_SYNC_BIT", "VMA_UFFD_MISSING_BIT", "VMA_UFFD_WP_BIT",
        "VMA_WIPEONFORK_BIT", "VMA_WRITE_BIT", "VmaFlagBit", "VmaFlags", "legacy_to_vma_flags",
        "mk_vma_flags", "vma_flags_test", "vma_flags_test_all", "vma_flags_test_all_mask",
        "vma_flags_test_any", "vma_flags_test_any_mask", "vma_flags_to_legacy",
    ),
}

if TYPE_CHECKING:  # what a type checker sees; at run time, __getattr__ below
    from .kernel.config import (
        V4,
        V4_FIXED,
        KernelConfig,
        MemEncrypt,
    )
    from .kernel.errors import (
        BusError,
        DeadlockError,
        HookError,
        HookViolation,
        KernelError,
        SegmentationFault,
        UseAfterFreeError,
    )
    from .kernel.filemap import (
        RegularFile,
    )
    from .kernel.flags import (
        MADV_DODUMP,
        MADV_DOFORK,
        MADV_DONTDUMP,
        MADV_DONTFORK,
        MADV_DONTNEED,
        MADV_KEEPONFORK,
        MADV_NORMAL,
        MADV_RANDOM,
        MADV_SEQUENTIAL,
        MADV_WILLNEED,
        MADV_WIPEONFORK,
        MAP_ANONYMOUS,
        MAP_DROPPABLE,
        MAP_FIXED,
        MAP_FIXED_NOREPLACE,
        MAP_GROWSDOWN,
        MAP_LOCKED,
        MAP_NORESERVE,
        MAP_POPULATE,
        MAP_PRIVATE,
        MAP_SHARED,
        MAP_SHARED_VALIDATE,
        MAP_STACK,
        MAP_TYPE,
        MCL_CURRENT,
        MCL_FUTURE,
        MCL_ONFAULT,
        MLOCK_ONFAULT,
        MREMAP_DONTUNMAP,
        MREMAP_FIXED,
        MREMAP_MAYMOVE,
        PAGE_SHIFT,
        PAGE_SIZE,
        PROT_EXEC,
        PROT_GROWSDOWN,
        PROT_GROWSUP,
        PROT_NONE,
        PROT_READ,
        PROT_SEM,
        PROT_WRITE,
        RLIM_INFINITY,
        VM_SPECIAL,
        VMFlag,
    )
    from .kernel.fs import (
        File,
        FileOperations,
        FMode,
        Inode,
    )
    from .kernel.mm import (
        MM,
    )
    from .kernel.mm_types import (
        MmapAction,
        MmapActionType,
        Ref,
        VmAreaDesc,
        VmAreaStruct,
        VmFault,
        VmOperationsStruct,
        vma_desc_clear_flags,
        vma_desc_clear_flags_mask,
        vma_desc_is_cow_mapping,
        vma_desc_pages,
        vma_desc_set_flags,
        vma_desc_set_flags_mask,
        vma_desc_size,
        vma_desc_test,
        vma_desc_test_all,
        vma_desc_test_all_mask,
        vma_desc_test_any,
        vma_desc_test_any_mask,
        vma_pages,
    )
    from .kernel.pgtable import (
        Pgprot,
        pgprot_decrypted,
        pgprot_encrypted,
        pgprot_noncached,
        pgprot_writecombine,
    )
    from .kernel.vma_flags import (
        EMPTY_VMA_FLAGS,
        VMA_ACCOUNT_BIT,
        VMA_ARCH_1_BIT,
        VMA_DONTCOPY_BIT,
        VMA_DONTDUMP_BIT,
        VMA_DONTEXPAND_BIT,
        VMA_DROPPABLE_BIT,
        VMA_EXEC_BIT,
        VMA_GROWSDOWN_BIT,
        VMA_HUGEPAGE_BIT,
        VMA_HUGETLB_BIT,
        VMA_IO_BIT,
        VMA_LOCKED_BIT,
        VMA_LOCKONFAULT_BIT,
        VMA_MAYBE_GUARD_BIT,
        VMA_MAYEXEC_BIT,
        VMA_MAYREAD_BIT,
        VMA_MAYSHARE_BIT,
        VMA_MAYWRITE_BIT,
        VMA_MERGEABLE_BIT,
        VMA_MIXEDMAP_BIT,
        VMA_NOHUGEPAGE_BIT,
        VMA_NORESERVE_BIT,
        VMA_PFNMAP_BIT,
        VMA_RAND_READ_BIT,
        VMA_READ_BIT,
        VMA_SEALED_BIT,
        VMA_SEQ_READ_BIT,
        VMA_SHARED_BIT,
        VMA_SOFTDIRTY_BIT,
        VMA_SYNC_BIT,
        VMA_UFFD_MISSING_BIT,
        VMA_UFFD_WP_BIT,
        VMA_WIPEONFORK_BIT,
        VMA_WRITE_BIT,
        VmaFlagBit,
        VmaFlags,
        legacy_to_vma_flags,
        mk_vma_flags,
        vma_flags_test,
        vma_flags_test_all,
        vma_flags_test_all_mask,
        vma_flags_test_any,
        vma_flags_test_any_mask,
        vma_flags_to_legacy,
    )

#: name -> the module that defines it.
_WHERE: dict[str, str] = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = [*_WHERE, "__version__"]  # noqa: F822 - every name is a module __getattr__


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use and then cached here;
    ``__version__`` is read on first use too (see :mod:`mmaplab._version`)."""
    if name == "__version__":
        from ._version import version

        return version()
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(mod, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
