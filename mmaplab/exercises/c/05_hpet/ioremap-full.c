/* Wrong: a full-range io remap loses vm_iomap_memory()'s size and offset checks. */
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
	mmap_action_ioremap_full(desc, addr >> PAGE_SHIFT);
	return 0;
}
