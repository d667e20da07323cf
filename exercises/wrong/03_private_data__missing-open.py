def ring_mapped(start, end, pgoff, file, vm_private_data):
    ctx = file.private_data.ctx_alloc()
    if ctx is None:
        return -errno.ENOMEM
    vm_private_data.value = ctx
    return 0


def ring_vm_open(vma):
    vma.vm_private_data.refcnt += 1


def ring_vm_close(vma):
    ctx = vma.vm_private_data
    if ctx is None:  # mapped never ran: the mapping failed late
        return
    ctx.refcnt -= 1
    if ctx.refcnt == 0:
        ctx.dev.ctx_free(ctx)


ring_vm_ops = VmOperationsStruct(name="ring_vm_ops", mapped=ring_mapped,
                                 close=ring_vm_close, fault=ring_fault)


def ring_mmap_prepare(desc):
    dev = desc.file.private_data
    if desc.pgoff + vma_desc_pages(desc) > dev.nr_pages:
        return -errno.EINVAL
    vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT)
    desc.vm_ops = ring_vm_ops
    return 0
