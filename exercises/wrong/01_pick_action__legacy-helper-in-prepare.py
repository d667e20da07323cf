def fb_mmap_prepare(desc):
    dev = desc.file.private_data
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.EINVAL
    mmap_action_remap_full(desc, dev.base_pfn + desc.pgoff)
    return 0


def regs_mmap_prepare(desc):
    dev = desc.file.private_data
    desc.page_prot = pgprot_noncached(desc.page_prot)
    return vm_iomap_memory(desc, dev.phys, dev.len)


def buf_mmap_prepare(desc):
    dev = desc.file.private_data
    pages = vma_desc_pages(desc)
    if desc.pgoff >= dev.nr_pages or pages > dev.nr_pages - desc.pgoff:
        return -errno.ENXIO
    mmap_action_map_kernel_pages(desc, desc.start, dev.pages[desc.pgoff:], pages)
    return 0
