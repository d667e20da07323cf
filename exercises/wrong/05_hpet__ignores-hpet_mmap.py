def hpet_mmap_prepare(self, desc):
    # the boot option only mattered for the old hook
    devp = desc.file.private_data
    addr = devp.hd_hpets.hp_hpet_phys
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = self._noncached(desc.page_prot)
    mmap_action_simple_ioremap(desc, addr, PAGE_SIZE)
    return 0
