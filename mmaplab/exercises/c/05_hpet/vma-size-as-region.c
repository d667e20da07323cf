/* Wrong: the region is as large as the request, so the one-page limit is gone. */
#include <linux/mm.h>

static int hpet_mmap_prepare(struct vm_area_desc *desc)
{
	struct hpet_dev *devp = desc->file->private_data;
	unsigned long addr;

	if (!hpet_mmap_enabled)
		return -EACCES;
	addr = devp->hd_hpets->hp_hpet_phys;
	if (addr & (PAGE_SIZE - 1))
		return -ENOSYS;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, addr, vma_desc_size(desc));
	return 0;
}
