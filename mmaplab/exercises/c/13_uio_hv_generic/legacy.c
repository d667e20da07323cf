/* Exercise 13, before the series: hv_uio_ring_mmap(), the channel's ring callback, Linux 7.0. */
#include <linux/hyperv.h>

static int hv_uio_ring_mmap(struct vmbus_channel *channel, struct vm_area_struct *vma)
{
	void *ring_buffer = page_address(channel->ringbuffer_page);

	if (channel->state != CHANNEL_OPENED_STATE)
		return -ENODEV;

	/* the whole ring, as I/O memory, its page tables written now */
	return vm_iomap_memory(vma, virt_to_phys(ring_buffer),
			       channel->ringbuffer_pagecount << PAGE_SHIFT);
}
