/* Wrong: every mapping starts at the first page, whatever the offset. */
#include <linux/mm.h>

/* Physical memory (RAM): remap the window the offset selects. */
static int fb_mmap_prepare(struct vm_area_desc *desc)
{
	struct fb_dev *dev = desc->file->private_data;

	if (desc->pgoff >= dev->nr_pages ||
	    vma_desc_pages(desc) > dev->nr_pages - desc->pgoff)
		return -EINVAL;
	mmap_action_remap_full(desc, dev->base_pfn);
	return 0;
}

/* MMIO smaller than a page: uncached, with vm_iomap_memory()'s checks. */
static int regs_mmap_prepare(struct vm_area_desc *desc)
{
	struct regs_dev *dev = desc->file->private_data;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, dev->phys, dev->len);
	return 0;
}

/* Kernel pages with struct page: insert them, from the page the offset selects. */
static int buf_mmap_prepare(struct vm_area_desc *desc)
{
	struct buf_dev *dev = desc->file->private_data;
	unsigned long pages = vma_desc_pages(desc);

	if (desc->pgoff >= dev->nr_pages || pages > dev->nr_pages - desc->pgoff)
		return -ENXIO;
	mmap_action_map_kernel_pages(desc, desc->start, &dev->pages[desc->pgoff], pages);
	return 0;
}
