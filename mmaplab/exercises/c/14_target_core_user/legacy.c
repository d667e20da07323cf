/* Exercise 14, before the series: tcmu_mmap(), the uio_info->mmap of Linux 7.0. */
#include <linux/uio_driver.h>

static const struct vm_operations_struct tcmu_vm_ops = {
	.open = tcmu_vma_open,
	.close = tcmu_vma_close,
	.fault = tcmu_vma_fault,
};

static int tcmu_mmap(struct uio_info *info, struct vm_area_struct *vma)
{
	struct tcmu_dev *udev = container_of(info, struct tcmu_dev, uio_info);

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &tcmu_vm_ops;

	vma->vm_private_data = udev;

	/* the mailbox, command ring and data area, all of it and no more */
	if (vma_pages(vma) != udev->mmap_pages)
		return -EINVAL;

	tcmu_vma_open(vma);	/* this VMA's device reference: kref_get() */
	return 0;
}
