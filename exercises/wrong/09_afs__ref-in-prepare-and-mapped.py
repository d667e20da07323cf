def afs_file_mmap_prepare(self, desc):
    self.afs_add_open_mmap(self._vnode(desc.file))
    ret = self.generic_file_mmap_prepare(desc)
    if ret:
        return ret
    desc.vm_ops = self.vm_ops
    return 0


def afs_mapped(self, start, end, pgoff, file, vm_private_data):
    self.afs_add_open_mmap(self._vnode(file))
    return 0
