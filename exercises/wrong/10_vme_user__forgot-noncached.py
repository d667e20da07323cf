def vme_master_mmap_prepare(self, resource, desc):
    vma_size = vma_desc_size(desc)
    if resource.type != VME_MASTER:
        return -errno.EINVAL
    phys_addr = resource.bus_start + (desc.pgoff << PAGE_SHIFT)
    if phys_addr + vma_size > resource.bus_end + 1:
        return -errno.EFAULT
    mmap_action_simple_ioremap(desc, phys_addr, vma_size)
    return 0


def vme_user_master_mmap_prepare(self, minor, desc):
    img = self.image[minor]
    img.mutex.down_write("vme_user_master_mmap_prepare")
    try:
        err = self.vme_master_mmap_prepare(img.resource, desc)
        if not err:
            desc.vm_ops = self.vm_ops
        return err
    finally:
        img.mutex.up_write()


def vme_user_vm_mapped(self, start, end, pgoff, file, vm_private_data):
    minor = file.f_inode.dev[1]
    img = self.image[minor]
    img.mutex.down_write("vme_user_vm_mapped")
    try:
        vm_private_data.value = self._kmalloc_priv(minor)
        img.mmap_count += 1
        return 0
    finally:
        img.mutex.up_write()
