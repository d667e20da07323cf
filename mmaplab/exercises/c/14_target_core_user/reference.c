/* Exercise 14, reference: tcmu_mmap_prepare() and tcmu_vma_mapped(), v4 19/21. */
#include <linux/uio_driver.h>

/* The VMA exists: it holds a device reference from now on (close drops it). */
static int tcmu_vma_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
			   const struct file *file, void **vm_private_data)
{
	struct tcmu_dev *udev = *vm_private_data;

	pr_debug("vma_mapped\n");

	kref_get(&udev->kref);
	return 0;
}

static const struct vm_operations_struct tcmu_vm_ops = {
	.open = tcmu_vma_open,
	.close = tcmu_vma_close,
	.mapped = tcmu_vma_mapped,
	.fault = tcmu_vma_fault,
};

static int tcmu_mmap_prepare(struct uio_info *info, struct vm_area_desc *desc)
{
	struct tcmu_dev *udev = container_of(info, struct tcmu_dev, uio_info);

	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	desc->vm_ops = &tcmu_vm_ops;

	desc->private_data = udev;

	/* the mailbox, command ring and data area, all of it and no more */
	if (vma_desc_pages(desc) != udev->mmap_pages)
		return -EINVAL;

	return 0;
}
