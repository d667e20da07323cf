/* Exercise 03, reference: the context is allocated in vm_ops->mapped, never earlier. */
#include <linux/mm.h>

/* A new VMA exists (not merged): give it a context of its own. */
static int ring_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
		       const struct file *file, void **vm_private_data)
{
	struct ring_ctx *ctx = ring_ctx_alloc(file->private_data);

	if (!ctx)
		return -ENOMEM;
	*vm_private_data = ctx;
	return 0;
}

/* A split or fork made another VMA sharing the context: one more reference. */
static void ring_vm_open(struct vm_area_struct *vma)
{
	struct ring_ctx *ctx = vma->vm_private_data;

	refcount_inc(&ctx->refcnt);
}

/* A VMA goes away: drop its reference; a mapping that failed late never got one. */
static void ring_vm_close(struct vm_area_struct *vma)
{
	struct ring_ctx *ctx = vma->vm_private_data;

	if (!ctx)
		return;
	if (refcount_dec_and_test(&ctx->refcnt))
		ring_ctx_free(ctx->dev, ctx);
}

static const struct vm_operations_struct ring_vm_ops = {
	.mapped = ring_mapped,
	.open = ring_vm_open,
	.close = ring_vm_close,
	.fault = ring_fault,
};

static int ring_mmap_prepare(struct vm_area_desc *desc)
{
	struct ring_dev *dev = desc->file->private_data;

	if (desc->pgoff + vma_desc_pages(desc) > dev->nr_pages)
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
	desc->vm_ops = &ring_vm_ops;
	return 0;
}
