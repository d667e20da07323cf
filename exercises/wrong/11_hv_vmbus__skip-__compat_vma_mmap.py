def hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma):
    channel = kobj
    desc = compat_set_desc_from_vma(filp, vma)
    # the kernel performs the action after ->mmap returns, as for mmap_prepare
    return channel.mmap_prepare_ring_buffer(channel, desc)
