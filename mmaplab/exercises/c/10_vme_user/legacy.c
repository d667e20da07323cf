/* Exercise 10, before the series: vme_master_mmap() and vme_user_master_mmap(), Linux 7.0. */
#include <linux/mm.h>

/* vme.c: the bridge's master window, mapped now on the VMA. */
int vme_master_mmap(struct vme_resource *resource, struct vm_area_struct *vma)
{
	struct vme_bridge *bridge = find_bridge(resource);
	struct vme_master_resource *image;
	phys_addr_t phys_addr;
	unsigned long vma_size;

	if (resource->type != VME_MASTER) {
		dev_err(bridge->parent, "Not a master resource\n");
		return -EINVAL;
	}

	image = list_entry(resource->entry, struct vme_master_resource, list);
	phys_addr = image->bus_resource.start + (vma->vm_pgoff << PAGE_SHIFT);
	vma_size = vma->vm_end - vma->vm_start;

	if (phys_addr + vma_size > image->bus_resource.end + 1) {
		dev_err(bridge->parent, "Map size cannot exceed the window size\n");
		return -EFAULT;
	}

	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	return vm_iomap_memory(vma, phys_addr, vma->vm_end - vma->vm_start);
}

static const struct vm_operations_struct vme_user_vm_ops = {
	.open = vme_user_vm_open,
	.close = vme_user_vm_close,
};

/* vme_user.c: map, then allocate the per-mapping state, which the hook owns from here. */
static int vme_user_master_mmap(unsigned int minor, struct vm_area_struct *vma)
{
	struct vme_user_vma_priv *vma_priv;
	int err;

	mutex_lock(&image[minor].mutex);

	err = vme_master_mmap(image[minor].resource, vma);
	if (err)
		goto out;

	vma_priv = kmalloc(sizeof(*vma_priv), GFP_KERNEL);
	if (!vma_priv) {
		err = -ENOMEM;
		goto out;
	}

	vma_priv->minor = minor;
	refcount_set(&vma_priv->refcnt, 1);
	vma->vm_ops = &vme_user_vm_ops;
	vma->vm_private_data = vma_priv;

	image[minor].mmap_count++;

out:
	mutex_unlock(&image[minor].mutex);
	return err;
}
