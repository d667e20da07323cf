"""Model support the exercises use: memory encryption visible in PTE prot (SME/SEV/TDX),
runtime PM of stm, a second HPET block."""

from __future__ import annotations

import pytest

from mmaplab import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    MM,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    V4_FIXED,
    File,
    FileOperations,
    FMode,
    Inode,
    MemEncrypt,
    Pgprot,
    pgprot_decrypted,
    pgprot_encrypted,
)
from mmaplab.drivers.hpet import HpetDriver
from mmaplab.drivers.hpet.model import HPET_PHYS, HPET_PHYS_2, HPET_TIMERS
from mmaplab.drivers.stm import StmDriver
from mmaplab.kernel.config import running_config
from mmaplab.kernel.memory import io_remap_pfn_range, remap_pfn_range
from mmaplab.kernel.mmap_action import mmap_action_ioremap_full, mmap_action_remap_full
from mmaplab.kernel.page_alloc import alloc_pages

P = PAGE_SIZE
MMIO_PFN = 0xFEB00


def _mm(kind: MemEncrypt) -> MM:
    return MM(config=V4_FIXED.with_options(mem_encrypt=kind))


def _dev(**fops) -> File:
    return File(Inode("/dev/enc", 1 << 20, dev=(10, 77)), FileOperations(name="enc_fops", **fops),
                FMode.READ | FMode.WRITE)


def _pte_prot(mm: MM, addr: int) -> Pgprot:
    pte = mm.pagetable.lookup(addr)
    assert pte is not None
    return pte.prot


@pytest.mark.parametrize("kind, enc_bit, dec_bit", [
    (MemEncrypt.SME, Pgprot.ENC, None), (MemEncrypt.SEV, Pgprot.ENC, None),
    (MemEncrypt.TDX, None, Pgprot.SHARED)])
def test_remap_keeps_encryption_io_remap_decrypts(kind, enc_bit, dec_bit) -> None:
    """remap_pfn_range() maps with vma->vm_page_prot (encrypted); io_remap_pfn_range() and the
    io-remap action apply pgprot_decrypted(): the two differ in the PTE."""
    ram = alloc_pages(1)[0].pfn

    def legacy(pfn, io):
        def hook(file, vma):
            fn = io_remap_pfn_range if io else remap_pfn_range
            return fn(vma, vma.vm_start, pfn, P, vma.vm_page_prot)
        return hook

    def prepare(pfn, io):
        def hook(desc):
            (mmap_action_ioremap_full if io else mmap_action_remap_full)(desc, pfn)
            return 0
        return hook

    for make, key in ((legacy, "mmap"), (prepare, "mmap_prepare")):
        for pfn in (ram, MMIO_PFN):
            got = {}
            for io in (False, True):
                mm = _mm(kind)
                addr = mm.mmap(None, P, PROT_READ | PROT_WRITE, MAP_SHARED,
                               _dev(**{key: make(pfn, io)}))
                got[io] = _pte_prot(mm, addr)
            if enc_bit is not None:
                assert enc_bit in got[False] and enc_bit not in got[True], (key, pfn)
            else:
                assert dec_bit not in got[False] and dec_bit in got[True], (key, pfn)


def test_no_encryption_makes_both_identical_and_functions_identity() -> None:
    mm = MM()
    prots = []
    for io in (False, True):
        def hook(desc, io=io):
            (mmap_action_ioremap_full if io else mmap_action_remap_full)(desc, MMIO_PFN)
            return 0
        addr = mm.mmap(None, P, PROT_READ, MAP_SHARED, _dev(mmap_prepare=hook))
        prots.append(_pte_prot(mm, addr))
    assert prots[0] == prots[1] and not prots[0] & (Pgprot.ENC | Pgprot.SHARED)
    assert pgprot_decrypted(Pgprot.PRESENT) == pgprot_encrypted(Pgprot.PRESENT) == Pgprot.PRESENT


def test_anonymous_memory_is_encrypted_and_mprotect_keeps_decryption() -> None:
    mm = _mm(MemEncrypt.SME)
    anon = mm.mmap(None, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    mm.fault(anon, write=True)
    assert Pgprot.ENC in _pte_prot(mm, anon)
    assert "enc" in _pte_prot(mm, anon).describe()

    def hook(desc):
        mmap_action_ioremap_full(desc, MMIO_PFN)
        return 0
    io = mm.mmap(None, P, PROT_READ | PROT_WRITE, MAP_SHARED, _dev(mmap_prepare=hook))
    mm.mprotect(io, P, PROT_READ)
    assert Pgprot.ENC not in _pte_prot(mm, io) and Pgprot.RW not in _pte_prot(mm, io)


def test_pgprot_functions_follow_the_running_kernel() -> None:
    with running_config(V4_FIXED.with_options(mem_encrypt=MemEncrypt.SME)):
        assert pgprot_encrypted(Pgprot.PRESENT) == Pgprot.PRESENT | Pgprot.ENC
        assert pgprot_decrypted(Pgprot.PRESENT | Pgprot.ENC) == Pgprot.PRESENT
    with running_config(V4_FIXED.with_options(mem_encrypt=MemEncrypt.TDX)):
        assert pgprot_decrypted(Pgprot.PRESENT) == Pgprot.PRESENT | Pgprot.SHARED
        assert pgprot_encrypted(Pgprot.PRESENT | Pgprot.SHARED) == Pgprot.PRESENT
    assert pgprot_decrypted(Pgprot.PRESENT) == Pgprot.PRESENT  # back to no encryption


def test_stm_runtime_pm_state_and_underflow() -> None:
    drv = StmDriver("prepare")
    mm = MM()
    pages = 2
    addr = mm.mmap(None, pages * P, PROT_READ | PROT_WRITE, MAP_SHARED, drv.open())
    assert drv.stm.dev.usage_count == 1 and drv.stm.dev.runtime_status == "active"
    mm.munmap(addr, pages * P)
    assert drv.stm.dev.usage_count == 0 and drv.stm.dev.runtime_status == "suspended"
    drv.stm.dev.pm_runtime_put_autosuspend()
    assert drv.stm.dev.underflows == 1 and drv.stm.dev.usage_count == 0


def test_second_hpet_block() -> None:
    drv = HpetDriver("prepare", second_block=HPET_PHYS_2)
    files = [drv.open() for _ in range(HPET_TIMERS + 1)]
    assert files[0].private_data.hd_hpets.hp_hpet_phys == HPET_PHYS
    last = files[-1].private_data
    assert last.hd_hpets.hp_hpet_phys == HPET_PHYS_2 and last.timer == HPET_TIMERS
    mm = MM()
    addr = mm.mmap(None, P, PROT_READ, MAP_SHARED, files[-1])
    assert mm.pagetable.lookup(addr).pfn == HPET_PHYS_2 >> 12
    drv.hpet_release(files[-1])
    assert HPET_TIMERS not in drv.timers_in_use
    one = HpetDriver("prepare")  # one block: its timers only
    for _ in range(HPET_TIMERS):
        one.open()
    with pytest.raises(OSError, match="every timer"):
        one.open()


def test_d2_failed_mmap_prepare_keeps_the_commit_charge_by_default() -> None:
    """mm/vma.c __mmap_region(): a failing mmap_prepare skips vm_unacct_memory()."""
    import errno as _errno

    def hook(desc):
        return -_errno.ENODEV

    for config, kept in ((V4_FIXED, 4), (V4_FIXED.with_options(keep_charge_on_prepare_error=False),
                                          0)):
        mm = MM(config=config)
        with pytest.raises(OSError) as exc:
            mm.mmap(None, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, _dev(mmap_prepare=hook))
        assert exc.value.errno == _errno.ENODEV
        assert mm.committed_pages == kept
