def mtdchar_mmap_prepare(self, desc):
    if self.mmu:
        if self.mtd.type in (MTD_RAM, MTD_ROM):
            mmap_action_simple_ioremap(desc, self.mtd.map_phys, self.mtd.size)
            return 0
        return -errno.ENODEV
    return 0 if vma_desc_test(desc, VMFlag.SHARED) else -errno.EACCES
