/* Exercise 11, reference: hv_mmap_ring_buffer_wrapper() as v4 18/21 writes it. */
#include <linux/hyperv.h>

/* The sysfs "ring" keeps its ->mmap; it calls the channel's mmap_prepare, stacked. */
static int hv_mmap_ring_buffer_wrapper(struct file *filp, struct kobject *kobj,
				       const struct bin_attribute *attr,
				       struct vm_area_struct *vma)
{
	struct vmbus_channel *channel = container_of(kobj, struct vmbus_channel, kobj);
	struct vm_area_desc desc;
	int err;

	/* hv_create_ring_sysfs() set the callback before the file became visible */
	compat_set_desc_from_vma(&desc, filp, vma);
	err = channel->mmap_prepare_ring_buffer(channel, &desc);
	if (err)
		return err;

	return __compat_vma_mmap(&desc, vma);
}
