/* Exercise 05, reference: hpet_mmap_prepare() as v4 13/21 writes it. */
#include <linux/mm.h>

static int hpet_mmap_prepare(struct vm_area_desc *desc)
{
	struct hpet_dev *devp;
	unsigned long addr;

	if (!hpet_mmap_enabled)
		return -EACCES;

	devp = desc->file->private_data;
	addr = devp->hd_hpets->hp_hpet_phys;

	if (addr & (PAGE_SIZE - 1))
		return -ENOSYS;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, addr, PAGE_SIZE);
	return 0;
}
