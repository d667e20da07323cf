HV_RING_SIZE = 512  # pages per direction


def hv_uio_ring_mmap_prepare(channel, desc):
    ring_buffer = page_address(channel.ringbuffer_page)
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer), 2 * HV_RING_SIZE * PAGE_SIZE)
    return 0
