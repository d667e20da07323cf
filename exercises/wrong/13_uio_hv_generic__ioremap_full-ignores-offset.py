def hv_uio_ring_mmap_prepare(channel, desc):
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    mmap_action_ioremap_full(desc, channel.ringbuffer_page.pfn)
    return 0
