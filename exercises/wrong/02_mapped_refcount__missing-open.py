def trk_mapped(start, end, pgoff, file, vm_private_data):
    file.private_data.add_open_mmap()
    return 0


def trk_vm_open(vma):
    vma.vm_file.private_data.add_open_mmap()


def trk_vm_close(vma):
    vma.vm_file.private_data.drop_open_mmap()


trk_vm_ops = VmOperationsStruct(name="trk_vm_ops", mapped=trk_mapped,
                                close=trk_vm_close, fault=trk_fault)


def trk_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    desc.vm_ops = trk_vm_ops
    return 0
