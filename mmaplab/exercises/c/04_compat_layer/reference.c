/* Exercise 04, reference: a legacy ->mmap that calls a converted callback, stacked. */
#include <linux/mm.h>

/* kernfs only knows ->mmap; the channel's callback takes a descriptor. */
static int chan_bin_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct chan_dev *chan = file->private_data;
	struct vm_area_desc desc;
	int err;

	compat_set_desc_from_vma(&desc, file, vma);
	err = chan->mmap_prepare_ring(chan, &desc);
	if (err)
		return err;

	return __compat_vma_mmap(&desc, vma);
}
