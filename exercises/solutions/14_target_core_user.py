def tcmu_mmap_prepare(self, info, desc):
    udev = self
    vma_desc_set_flags(desc, VMFlag.DONTEXPAND | VMFlag.DONTDUMP)
    desc.vm_ops = udev.vm_ops
    desc.private_data = udev
    if (desc.end - desc.start) >> PAGE_SHIFT != udev.mmap_pages:
        return -errno.EINVAL
    return 0


def tcmu_vma_mapped(self, start, end, pgoff, file, vm_private_data):
    udev = vm_private_data.value
    udev.kref_get()
    return 0
