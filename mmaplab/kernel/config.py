"""Which kernel the model follows: the v4 series as posted, or with its later fixes.

The model follows Linux 7.0 with the "mm: expand mmap_prepare functionality" v4
series (2026-03-20) applied.  Two later upstream fixes change behaviour a learner
can observe, so both variants are available:

* ``619eab23e1ce`` "mm/vma: do not try to unmap a VMA if mmap_prepare() invoked
  from mmap()": in v4, a failing action/``mapped`` hook reached through the
  compatibility layer calls ``do_munmap()`` on a VMA that was never inserted.
* ``3d3544a6c996`` "mm/vma: remove __vma_check_mmap_hook()": v4 refuses (EINVAL)
  any ``->mmap`` that leaves ``vm_ops->mapped`` set — which breaks uio/tcmu,
  whose legacy ``->mmap`` now reaches ``mapped`` through the compat layer.
"""

from __future__ import annotations

import contextvars
import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["KernelConfig", "V4", "V4_FIXED", "DEFAULT", "MemEncrypt", "cc_platform",
           "running_config", "install_config", "restore_config"]


class MemEncrypt(enum.Enum):
    """Which confidential-computing memory encryption the machine runs with.

    Models the x86 ``cc_platform``/``cc_vendor`` state behind ``pgprot_encrypted()``
    and ``pgprot_decrypted()`` (arch/x86/include/asm/pgtable.h, arch/x86/coco/core.c):

    * ``SME`` / ``SEV`` (AMD): the PTE's C-bit (``sme_me_mask``) set means encrypted;
      ``sme_early_init()`` encrypts every ``protection_map`` entry, so ordinary
      mappings are encrypted and ``pgprot_decrypted()`` clears the bit.
    * ``TDX`` (Intel): private memory is encrypted implicitly; the *shared* bit set
      means decrypted, so ``pgprot_decrypted()`` sets it.
    * ``NONE``: both functions are the identity (the default, as on most machines).
    """

    NONE = "none"
    SME = "sme"
    SEV = "sev"
    TDX = "tdx"


@dataclass(frozen=True)
class KernelConfig:
    """A kernel variant the model can follow (see the module docstring)."""

    name: str
    #: v4 08/21 ``__vma_check_mmap_hook()``: ``mapped`` set by a legacy ->mmap is EINVAL.
    vma_check_mmap_hook: bool
    #: v4 ``mmap_action_finish()`` unmaps on error even in compat mode.
    compat_unmap_on_error: bool
    #: The machine's memory encryption (``pgprot_encrypted``/``pgprot_decrypted``).
    mem_encrypt: MemEncrypt = MemEncrypt.NONE
    #: D2: when ``mmap_prepare`` (or its action's prepare step) fails, ``__mmap_region()``
    #: jumps past the unaccount step, so the commit charge of a private writable mapping
    #: is never given back (mm/vma.c, labels ``unacct_error``/``abort_munmap``, the same in
    #: 7.0 and before the series).  That looks like a kernel bug; ``True`` reproduces it,
    #: ``False`` gives the charge back as the other error paths do.
    keep_charge_on_prepare_error: bool = True
    #: The ``ignore_rlimit_data`` boot option (mm/mmap.c ``may_expand_vm()``): a data
    #: mapping over RLIMIT_DATA is only warned about, not refused.  Off by default.
    ignore_rlimit_data: bool = False
    #: When ``mmap_prepare`` swapped in another file (``desc->vm_file``, a reference the
    #: mapping owns: ``file_doesnt_need_get``) and the new range then merges with a
    #: neighbour mapping that file, ``__mmap_region()`` at 7.0 drops that reference on
    #: its abort path only: after the merge nobody drops it, so it leaks (mm/vma.c
    #: @334fbe73).  Probably a kernel bug (the mm tree later reworked this as "mm/vma:
    #: fix mmap_prepare file handling, remove file_doesnt_need_get"); ``True``
    #: reproduces it, ``False`` drops the unused reference (``fput``).
    leak_swapped_file_on_merge: bool = True

    def with_options(self, **changes: Any) -> KernelConfig:
        """This config with some fields changed, e.g. ``V4_FIXED.with_options(
        mem_encrypt=MemEncrypt.SME)``."""
        return dataclasses.replace(self, **changes)


V4 = KernelConfig("v4 as posted", vma_check_mmap_hook=True, compat_unmap_on_error=True)
V4_FIXED = KernelConfig("v4 + 619eab23e1ce + 3d3544a6c996", vma_check_mmap_hook=False,
                        compat_unmap_on_error=False)
DEFAULT = V4_FIXED


_running: contextvars.ContextVar[KernelConfig] = contextvars.ContextVar("running_config",
                                                                       default=DEFAULT)


def cc_platform() -> MemEncrypt:
    """The memory encryption of the kernel whose system call is running (``cc_vendor``)."""
    return _running.get().mem_encrypt


def install_config(config: KernelConfig) -> contextvars.Token[KernelConfig] | None:
    """Make ``config`` the running kernel's; the token for :func:`restore_config`.

    None when it already is (the common case: every MM runs the default), so a
    system call pays one ``ContextVar.get`` for it.
    """
    if _running.get() is config:
        return None
    return _running.set(config)


def restore_config(token: contextvars.Token[KernelConfig] | None) -> None:
    """Undo :func:`install_config`."""
    if token is not None:
        _running.reset(token)


class running_config:  # noqa: N801 -- used as a function: ``with running_config(c):``
    """Make ``config`` the running kernel's for the duration of a block (what a system
    call does with :func:`install_config`/:func:`restore_config`).

    ``pgprot_decrypted(prot)`` takes no mm in C: it reads machine-wide state; the
    model keeps that state per ``MM`` and installs it here while the MM runs.
    """

    __slots__ = ("config", "token")

    def __init__(self, config: KernelConfig) -> None:
        self.config = config

    def __enter__(self) -> None:
        self.token = install_config(self.config)

    def __exit__(self, *exc: object) -> None:
        restore_config(self.token)
