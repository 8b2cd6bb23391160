// SPDX-License-Identifier: GPL-2.0
/*
 * chariot_mmio.c - virtio-mmio devices described on the command line, for
 * kernels built without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Debian's 6.1
 * amd64 kernel ignores "virtio_mmio.device=").  Each entry of the device
 * parameter, in virtio_mmio's syntax <size>@<base>:<irq>, becomes a
 * "virtio-mmio" platform device that the virtio_mmio driver then binds.
 * guest/init passes it the kernel's virtio_mmio.device=... words, joined
 * by commas, when virtio_mmio lacks that parameter.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>

#define MAX_DEVICES 32

static char *device[MAX_DEVICES];
static int ndevices;
module_param_array(device, charp, &ndevices, 0444);
MODULE_PARM_DESC(device, "virtio-mmio devices: <size>@<base>:<irq>,...");

static struct platform_device *pdevs[MAX_DEVICES];

/* "<size>@<base>:<irq>" (size with an optional K/M/G suffix) */
static int parse(const char *s, struct resource res[2])
{
	char *end;
	unsigned long long size, base;
	unsigned int irq;

	size = memparse(s, &end);
	if (!size || *end != '@')
		return -EINVAL;
	base = simple_strtoull(end + 1, &end, 0);
	if (*end != ':' || kstrtouint(end + 1, 0, &irq) || !irq ||
	    base + size < base)
		return -EINVAL;
	res[0] = (struct resource)DEFINE_RES_MEM(base, size);
	res[1] = (struct resource)DEFINE_RES_IRQ(irq);
	return 0;
}

static void unregister_all(void)
{
	for (int i = 0; i < MAX_DEVICES; i++) {
		if (pdevs[i])
			platform_device_unregister(pdevs[i]);
		pdevs[i] = NULL;
	}
}

static struct platform_device *add_device(const struct resource res[2])
{
	return platform_device_register_resndata(NULL, "virtio-mmio",
						 PLATFORM_DEVID_AUTO, res, 2,
						 NULL, 0);
}

static int __init chariot_mmio_init(void)
{
	struct platform_device *pdev;
	struct resource res[2];
	int i, err;

	for (i = 0; i < ndevices; i++) {
		err = parse(device[i], res);
		if (err) {
			pr_err("bad device \"%s\"\n", device[i]);
			goto fail;
		}
		pdev = add_device(res);
		if (IS_ERR(pdev)) {
			err = PTR_ERR(pdev);
			pr_err("cannot add device %pR: %d\n", &res[0], err);
			goto fail;
		}
		pdevs[i] = pdev;
	}
	return 0;

fail:
	unregister_all();
	return err;
}

static void __exit chariot_mmio_exit(void)
{
	unregister_all();
}

module_init(chariot_mmio_init);
module_exit(chariot_mmio_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtio-mmio devices from the command line (Chariot guest)");
