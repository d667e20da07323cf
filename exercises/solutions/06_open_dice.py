def open_dice_mmap_prepare(self, desc):
    drvdata = desc.file.private_data
    if vma_desc_test(desc, VMFlag.MAYSHARE):
        if vma_desc_test(desc, VMFlag.WRITE):
            return -errno.EPERM
        vma_desc_clear_flags(desc, VMFlag.MAYWRITE)
    desc.page_prot = self._wc(desc.page_prot)
    vma_desc_set_flags(desc, VMFlag.DONTCOPY | VMFlag.DONTDUMP)
    mmap_action_simple_ioremap(desc, drvdata.rmem.base, drvdata.rmem.size)
    return 0
