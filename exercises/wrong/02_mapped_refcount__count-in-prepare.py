def trk_vm_open(vma):
    vma.vm_file.private_data.add_open_mmap()


def trk_vm_close(vma):
    vma.vm_file.private_data.drop_open_mmap()


trk_vm_ops = VmOperationsStruct(name="trk_vm_ops", open=trk_vm_open, close=trk_vm_close,
                                fault=trk_fault)


def trk_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    dev.add_open_mmap()  # as the legacy hook did
    desc.vm_ops = trk_vm_ops
    return 0
