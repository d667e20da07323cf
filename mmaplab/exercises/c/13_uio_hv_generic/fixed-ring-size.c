/* Wrong: the old fixed ring size instead of the channel's. */
#include <linux/hyperv.h>

static int hv_uio_ring_mmap_prepare(struct vmbus_channel *channel, struct vm_area_desc *desc)
{
	void *ring_buffer = page_address(channel->ringbuffer_page);

	if (channel->state != CHANNEL_OPENED_STATE)
		return -ENODEV;

	/* the whole ring, as I/O memory; the offset is a page offset into it */
	mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer),
				   2 * 512 * PAGE_SIZE);
	return 0;
}
