def hv_uio_ring_mmap_prepare(channel, desc):
    ring_buffer = page_address(channel.ringbuffer_page)
    if channel.state != VmbusChannelState.CHANNEL_OPENED_STATE:
        return -errno.ENODEV
    desc.page_prot = pgprot_noncached(desc.page_prot)  # it is an I/O remap, after all
    mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0
