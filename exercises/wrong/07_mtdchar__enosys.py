def mtdchar_mmap_prepare(self, desc):
    if self.mmu:
        return -errno.ENOSYS
    return 0 if vma_desc_test(desc, VMFlag.SHARED) else -errno.EACCES
