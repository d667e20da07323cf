def mtdchar_mmap_prepare(self, desc):
    if self.mmu:
        # The MTD_RAM/MTD_ROM branch was dead code (`if (0 && ...)`): not converted.
        return -errno.ENODEV
    return 0 if vma_desc_test(desc, VMFlag.SHARED) else -errno.EACCES
