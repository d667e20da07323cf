def mtdchar_mmap_prepare(self, desc):
    if self.mmu:
        return -errno.ENODEV
    return 0
