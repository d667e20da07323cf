/* Exercise 10, reference: the vme_user master mmap as v4 16/21 writes it. */
#include <linux/mm.h>

/* vme.c: the bridge's master window, on the descriptor. */
int vme_master_mmap_prepare(struct vme_resource *resource, struct vm_area_desc *desc)
{
	const unsigned long vma_size = vma_desc_size(desc);
	struct vme_bridge *bridge = find_bridge(resource);
	struct vme_master_resource *image;
	phys_addr_t phys_addr;

	if (resource->type != VME_MASTER) {
		dev_err(bridge->parent, "Not a master resource\n");
		return -EINVAL;
	}

	image = list_entry(resource->entry, struct vme_master_resource, list);
	phys_addr = image->bus_resource.start + (desc->pgoff << PAGE_SHIFT);

	if (phys_addr + vma_size > image->bus_resource.end + 1) {
		dev_err(bridge->parent, "Map size cannot exceed the window size\n");
		return -EFAULT;
	}

	desc->page_prot = pgprot_noncached(desc->page_prot);
	mmap_action_simple_ioremap(desc, phys_addr, vma_size);
	return 0;
}

/* vme_user.c: the VMA exists; only now is there a mapping to account for. */
static int vme_user_vm_mapped(unsigned long start, unsigned long end, pgoff_t pgoff,
			      const struct file *file, void **vm_private_data)
{
	const unsigned int minor = iminor(file_inode(file));
	struct vme_user_vma_priv *vma_priv;

	mutex_lock(&image[minor].mutex);

	vma_priv = kmalloc(sizeof(*vma_priv), GFP_KERNEL);
	if (!vma_priv) {
		mutex_unlock(&image[minor].mutex);
		return -ENOMEM;
	}

	vma_priv->minor = minor;
	refcount_set(&vma_priv->refcnt, 1);
	*vm_private_data = vma_priv;

	image[minor].mmap_count++;

	mutex_unlock(&image[minor].mutex);
	return 0;
}

static const struct vm_operations_struct vme_user_vm_ops = {
	.open = vme_user_vm_open,
	.close = vme_user_vm_close,
	.mapped = vme_user_vm_mapped,
};

static int vme_user_master_mmap_prepare(unsigned int minor, struct vm_area_desc *desc)
{
	int err;

	mutex_lock(&image[minor].mutex);

	err = vme_master_mmap_prepare(image[minor].resource, desc);
	if (!err)
		desc->vm_ops = &vme_user_vm_ops;

	mutex_unlock(&image[minor].mutex);
	return err;
}
