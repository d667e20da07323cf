/* Exercise 09, reference: afs_file_mmap_prepare() and afs_mapped(), v4 10/21. */
#include <linux/fs.h>

/* A new VMA exists (it did not merge, nothing failed): count this mapping. */
static int afs_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
		      const struct file *file, void **vm_private_data)
{
	struct afs_vnode *vnode = AFS_FS_I(file_inode(file));

	afs_add_open_mmap(vnode);
	return 0;
}

static const struct vm_operations_struct afs_vm_ops = {
	.open		= afs_vm_open,
	.close		= afs_vm_close,
	.fault		= filemap_fault,
	.mapped		= afs_mapped,
};

static int afs_file_mmap_prepare(struct vm_area_desc *desc)
{
	int ret;

	ret = generic_file_mmap_prepare(desc);
	if (!ret)
		desc->vm_ops = &afs_vm_ops;
	return ret;
}
