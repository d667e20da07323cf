def afs_file_mmap_prepare(self, desc):
    vnode = self._vnode(desc.file)
    self.afs_add_open_mmap(vnode)
    ret = self.generic_file_mmap_prepare(desc)
    if ret == 0:
        desc.vm_ops = self.vm_ops
    else:
        self.afs_drop_open_mmap(vnode)
    return ret


def afs_mapped(self, start, end, pgoff, file, vm_private_data):
    return 0  # already counted in mmap_prepare
