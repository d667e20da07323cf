def chan_bin_mmap(file, vma):
    chan = file.private_data
    desc = compat_set_desc_from_vma(file, vma)
    err = chan.mmap_prepare_ring(chan, desc)
    if err:
        return err
    # copy the results back by hand
    vma.vm_ops = desc.vm_ops
    vma.vm_flags = vma_flags_to_legacy(desc.vma_flags)
    vma.vm_page_prot = desc.page_prot
    return 0
