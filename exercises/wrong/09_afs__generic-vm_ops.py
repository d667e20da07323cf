def afs_file_mmap_prepare(self, desc):
    # generic_file_mmap_prepare() already installs vm_ops
    return self.generic_file_mmap_prepare(desc)


def afs_mapped(self, start, end, pgoff, file, vm_private_data):
    self.afs_add_open_mmap(self._vnode(file))
    return 0
