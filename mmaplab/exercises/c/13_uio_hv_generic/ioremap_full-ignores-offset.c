/* Wrong: a full io remap of the ring's first pfn ignores the offset. */
#include <linux/hyperv.h>

static int hv_uio_ring_mmap_prepare(struct vmbus_channel *channel, struct vm_area_desc *desc)
{
	void *ring_buffer = page_address(channel->ringbuffer_page);

	if (channel->state != CHANNEL_OPENED_STATE)
		return -ENODEV;

	/* the whole ring, as I/O memory; the offset is a page offset into it */
	mmap_action_ioremap_full(desc, page_to_pfn(channel->ringbuffer_page));
	return 0;
}
