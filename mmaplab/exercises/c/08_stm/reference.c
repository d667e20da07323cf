/* Exercise 08, reference: stm_char_mmap_prepare() and stm_mmap_mapped(), v4 15/21. */
#include <linux/mm.h>

/* The VMA exists: only now may it hold a runtime-PM reference (close drops it). */
static int stm_mmap_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
			   const struct file *file, void **vm_private_data)
{
	struct stm_file *stmf = file->private_data;
	struct stm_device *stm = stmf->stm;

	pm_runtime_get_sync(&stm->dev);
	return 0;
}

static const struct vm_operations_struct stm_mmap_vmops = {
	.open	= stm_mmap_open,
	.close	= stm_mmap_close,
	.mapped	= stm_mmap_mapped,
};

static int stm_char_mmap_prepare(struct vm_area_desc *desc)
{
	struct file *file = desc->file;
	struct stm_file *stmf = file->private_data;
	struct stm_device *stm = stmf->stm;
	unsigned long size, phys;

	if (!stm->data->mmio_addr)
		return -EOPNOTSUPP;

	if (desc->pgoff)
		return -EINVAL;

	size = vma_desc_size(desc);

	if (stmf->output.nr_chans * stm->data->sw_mmiosz != size)
		return -EINVAL;

	phys = stm->data->mmio_addr(stm->data, stmf->output.master,
				    stmf->output.channel,
				    stmf->output.nr_chans);

	if (!phys)
		return -EINVAL;

	desc->page_prot = pgprot_noncached(desc->page_prot);
	vma_desc_set_flags(desc, VMA_IO_BIT, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	desc->vm_ops = &stm_mmap_vmops;
	mmap_action_simple_ioremap(desc, phys, size);
	return 0;
}
