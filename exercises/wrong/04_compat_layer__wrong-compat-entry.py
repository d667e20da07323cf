def chan_bin_mmap(file, vma):
    return compat_vma_mmap(file, vma)
