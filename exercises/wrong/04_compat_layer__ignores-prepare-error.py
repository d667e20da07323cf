def chan_bin_mmap(file, vma):
    chan = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    chan.mmap_prepare_ring(chan, desc)
    return __compat_vma_mmap(desc, vma)
