def hpet_mmap_prepare(self, desc):
    if not self.hpet_mmap_enabled:
        return -errno.EACCES
    devp = desc.file.private_data
    addr = devp.hd_hpets.hp_hpet_phys
    if addr & (PAGE_SIZE - 1):
        return -errno.ENOSYS
    desc.page_prot = self._noncached(desc.page_prot)
    mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT)
    return 0
