def mtdchar_mmap_prepare(self, desc):
    # "the MMU branch is dead anyway, keep only the real check"
    return 0 if vma_desc_test(desc, VMFlag.SHARED) else -errno.EACCES
