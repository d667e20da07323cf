/* Exercise 05, before the series: hpet_mmap() with CONFIG_HPET_MMAP, Linux 7.0. */
#include <linux/mm.h>

static int hpet_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hpet_dev *devp;
	unsigned long addr;

	if (!hpet_mmap_enabled)		/* the boot option hpet_mmap=0 */
		return -EACCES;

	devp = file->private_data;
	addr = devp->hd_hpets->hp_hpet_phys;

	if (addr & (PAGE_SIZE - 1))	/* the block is not page aligned */
		return -ENOSYS;

	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	/* checks the request against the page, then writes the page tables now */
	return vm_iomap_memory(vma, addr, PAGE_SIZE);
}
