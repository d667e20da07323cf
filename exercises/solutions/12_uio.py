def uio_mmap(self, filep, vma):
    idev = filep.private_data.dev
    if vma.vm_end < vma.vm_start:
        return -errno.EINVAL
    vma.vm_private_data = idev
    idev.info_lock.down_write("uio_mmap")
    try:
        info = idev.info
        if info is None:
            return -errno.EINVAL
        mi = self.uio_find_mem_index(vma)
        if mi < 0:
            return -errno.EINVAL
        if not self.size_ok(vma, info.mem[mi]):
            return -errno.EINVAL
        if info.mmap_prepare is not None:
            desc = compat_set_desc_from_vma(filep, vma)
            ret = info.mmap_prepare(info, desc)
            if ret:
                return ret
            return __compat_vma_mmap(desc, vma)
        memtype = info.mem[mi].memtype
        if memtype in (uio.UIO_MEM_IOVA, uio.UIO_MEM_PHYS):
            return self.uio_mmap_physical(vma)
        if memtype in (uio.UIO_MEM_LOGICAL, uio.UIO_MEM_VIRTUAL):
            return self.uio_mmap_logical(vma)
        if memtype == uio.UIO_MEM_DMA_COHERENT:
            return self.uio_mmap_dma_coherent(vma)
        return -errno.EINVAL
    finally:
        idev.info_lock.up_write()
