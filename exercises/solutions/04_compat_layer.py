def chan_bin_mmap(file, vma):
    chan = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    return __compat_vma_mmap(desc, vma)
