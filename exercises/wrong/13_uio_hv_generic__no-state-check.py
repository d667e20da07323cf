def hv_uio_ring_mmap_prepare(channel, desc):
    ring_buffer = page_address(channel.ringbuffer_page)
    mmap_action_simple_ioremap(desc, virt_to_phys(ring_buffer),
                               channel.ringbuffer_pagecount << PAGE_SHIFT)
    return 0
