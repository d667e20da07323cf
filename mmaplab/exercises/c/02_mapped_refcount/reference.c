/* Exercise 02, reference: count live mappings in vm_ops, never in mmap_prepare. */
#include <linux/mm.h>

/* A new VMA exists (not merged): one more mapping of the file. */
static int trk_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
		      const struct file *file, void **vm_private_data)
{
	trk_add_open_mmap(file->private_data);
	*vm_private_data = file->private_data;	/* this VMA is counted */
	return 0;
}

/* A copy of a VMA (split, fork): one more. */
static void trk_vm_open(struct vm_area_struct *vma)
{
	trk_add_open_mmap(vma->vm_file->private_data);
}

/* A VMA goes away: uncount it, if mapped counted it (a mapping that fails late is
 * unmapped with its vm_ops installed, before or without mapped). */
static void trk_vm_close(struct vm_area_struct *vma)
{
	if (!vma->vm_private_data)
		return;
	trk_drop_open_mmap(vma->vm_private_data);
}

static const struct vm_operations_struct trk_vm_ops = {
	.mapped = trk_mapped,
	.open = trk_vm_open,
	.close = trk_vm_close,
	.fault = trk_fault,
};

static int trk_mmap_prepare(struct vm_area_desc *desc)
{
	struct trk_dev *dev = desc->file->private_data;

	if (desc->pgoff + vma_desc_pages(desc) > dev->nr_pages)
		return -EINVAL;
	desc->vm_ops = &trk_vm_ops;
	return 0;
}
