"""mmaplab: an executable model of the Linux mmap path and its ``mmap_prepare`` hook.

The model follows Linux 7.0 with the "mm: expand mmap_prepare functionality"
v4 series applied (see :mod:`mmaplab.kernel.config` for the later fixes).  Start with
:class:`MM` and :class:`RegularFile`; see ARCHITECTURE.md for the module map.
"""

from ._version import __version__
from .kernel.config import V4, V4_FIXED, KernelConfig
from .kernel.errors import (
                     BusError,
                     DeadlockError,
                     HookError,
                     HookViolation,
                     KernelError,
                     SegmentationFault,
                     UseAfterFreeError,
)
from .kernel.filemap import RegularFile
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
                     VM_SPECIAL,
                     VMFlag,
)
from .kernel.fs import File, FileOperations, FMode, Inode
from .kernel.mm import MM
from .kernel.mm_types import (
                     MmapAction,
                     MmapActionType,
                     Ref,
                     VmAreaDesc,
                     VmAreaStruct,
                     VmFault,
                     VmOperationsStruct,
)

__all__ = [
    "MM", "RegularFile", "File", "FileOperations", "FMode", "Inode", "VmAreaStruct",
    "VmAreaDesc", "VmOperationsStruct", "VmFault", "MmapAction", "MmapActionType", "Ref",
    "VMFlag", "VM_SPECIAL", "KernelConfig", "V4", "V4_FIXED", "KernelError", "HookError",
    "HookViolation", "DeadlockError", "UseAfterFreeError", "SegmentationFault", "BusError",
    "PAGE_SIZE", "PAGE_SHIFT", "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_SEM",
    "PROT_GROWSDOWN", "PROT_GROWSUP", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE",
    "MAP_DROPPABLE", "MAP_TYPE", "MAP_FIXED", "MAP_FIXED_NOREPLACE", "MAP_ANONYMOUS",
    "MAP_NORESERVE", "MAP_POPULATE", "MAP_LOCKED", "MAP_GROWSDOWN", "MAP_STACK",
    "MADV_DODUMP", "MADV_DOFORK", "MADV_DONTDUMP", "MADV_DONTFORK", "MADV_DONTNEED",
    "MADV_KEEPONFORK", "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
    "MADV_WIPEONFORK", "MCL_CURRENT", "MCL_FUTURE", "MCL_ONFAULT", "MLOCK_ONFAULT",
    "MREMAP_DONTUNMAP", "MREMAP_FIXED", "MREMAP_MAYMOVE", "__version__",
]
