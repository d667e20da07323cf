def stm_char_mmap_prepare(self, desc):
    stm = self.stm
    output = desc.file.private_data
    if stm.data.mmio_addr is None:
        return -errno.EOPNOTSUPP
    if desc.pgoff:
        return -errno.EINVAL
    size = vma_desc_size(desc)
    if output.nr_chans * stm.data.sw_mmiosz != size:
        return -errno.EINVAL
    phys = stm.data.mmio_addr(stm.data, output.master, output.channel, output.nr_chans)
    if not phys:
        return -errno.EINVAL
    desc.page_prot = self._noncached(desc.page_prot)
    vma_desc_set_flags(desc, VMFlag.IO | VMFlag.DONTEXPAND | VMFlag.DONTDUMP)
    mmap_action_simple_ioremap(desc, phys, size)
    return 0


def stm_mmap_mapped(self, start, end, pgoff, file, vm_private_data):
    self.stm.pm_runtime_get_sync()
    return 0
