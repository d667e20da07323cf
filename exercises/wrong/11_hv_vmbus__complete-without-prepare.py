def hv_mmap_ring_buffer_wrapper(self, filp, kobj, attr, vma):
    channel = kobj
    desc = compat_set_desc_from_vma(filp, vma)
    err = channel.mmap_prepare_ring_buffer(channel, desc)
    if err:
        return err
    compat_set_vma_from_desc(vma, desc)
    return mmap_action_complete(vma.vm_mm, vma, desc.action, is_compat=True)
