def hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma):
    channel = kobj
    desc = compat_set_desc_from_vma(filp, vma)
    err = channel.mmap_prepare_ring_buffer(channel, desc)
    if err:
        return err
    return __compat_vma_mmap(desc, vma)
