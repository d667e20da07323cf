/* Exercise 11, before the series: hv_mmap_ring_buffer_wrapper(), Linux 7.0. */
#include <linux/hyperv.h>

/* The sysfs "ring" attribute's ->mmap: hand the VMA to the channel's legacy callback. */
static int hv_mmap_ring_buffer_wrapper(struct file *filp, struct kobject *kobj,
				       const struct bin_attribute *attr,
				       struct vm_area_struct *vma)
{
	struct vmbus_channel *channel = container_of(kobj, struct vmbus_channel, kobj);

	/* hv_create_ring_sysfs() set the callback before the file became visible */
	return channel->mmap_ring_buffer(channel, vma);
}
