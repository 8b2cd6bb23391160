// SPDX-License-Identifier: GPL-2.0
/*
 * service.c - what a driver serves, so that a reload can be said to have
 * brought it back: its disks and network interfaces by name, and the
 * devices its unfinished probes were for.
 *
 * "The module is live again" is not the service: a virtio_blk whose probe
 * was unwound came back live with no /dev/vda (its device left set up by
 * the cut-short probe, the new probe refused).  So before the teardown the
 * recovery notes what the module serves (chariot_service_note()) and after
 * the reload waits for each of it to be served by the new instance
 * (chariot_service_back()): a disk (a gendisk whose fops lie in the
 * module) or a netdev (its netdev_ops in the module, in any network
 * namespace) of the same name, and
 * each device an unwound probe was for bound to a driver of the module.
 * What the user made at run time and the driver cannot make again by
 * itself (a null_blk device made in configfs, removed by the teardown) is
 * then honestly not restored.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/virtio.h>
#include <net/net_namespace.h>

#include "monitor.h"

static void add_name(struct chariot_service *s, u8 kind, const char *name)
{
	struct chariot_served *x;
	unsigned int i;

	for (i = 0; i < s->nnames; i++)	/* one per name: see netdev_served() */
		if (s->names[i].kind == kind && !strcmp(s->names[i].name, name))
			return;
	if (s->nnames >= CHARIOT_SERVED_MAX)
		return;
	x = &s->names[s->nnames++];
	x->kind = kind;
	strscpy(x->name, name, sizeof(x->name));
}

/* block_class is not exported: looked up once, NULL on a kernel without. */
static struct class *block_class_of(void)
{
	static struct class *cls;

	if (!cls)
		cls = (struct class *)chariot_lookup_name("block_class");
	if (!cls)
		pr_warn_once("no block_class: disks are not part of a recovered service\n");
	return cls;
}

/* A whole disk (not a partition) served by mod, else NULL. */
static struct gendisk *disk_of(struct device *dev, struct module *mod)
{
	struct block_device *bdev = dev_to_bdev(dev);
	struct gendisk *disk = bdev->bd_disk;

	/* its ops in the module: drivers that leave .owner unset too */
	if (bdev->bd_partno || !disk ||
	    !within_module((unsigned long)disk->fops, mod))
		return NULL;
	return disk;
}

/* Calls fn for each disk mod serves; stops when fn returns true. */
static bool each_disk(struct module *mod,
		      bool (*fn)(struct gendisk *disk, void *arg), void *arg)
{
	struct class *cls = block_class_of();
	struct class_dev_iter iter;
	struct gendisk *disk;
	struct device *dev;
	bool stop = false;

	if (!cls)
		return false;
	class_dev_iter_init(&iter, cls, NULL, NULL);
	while (!stop && (dev = class_dev_iter_next(&iter)))
		if ((disk = disk_of(dev, mod)))
			stop = fn(disk, arg);
	class_dev_iter_exit(&iter);
	return stop;
}

static bool note_disk(struct gendisk *disk, void *arg)
{
	add_name(arg, CHARIOT_SERVED_DISK, disk->disk_name);
	return false;
}

static bool is_named(struct gendisk *disk, void *arg)
{
	return !strcmp(disk->disk_name, arg);
}

/*
 * A netdev of mod's named name, in any network namespace: one the user
 * moved out of the initial namespace (--net pair's eth1, in "peer") is
 * made again in the initial one by the reloaded driver, under its name;
 * the move, like the addresses, is the user's set-up to make again.
 */
static bool netdev_served(struct module *mod, const char *name)
{
	struct net_device *dev;
	struct net *net;
	bool ok = false;

	rcu_read_lock();
	for_each_net_rcu(net) {
		dev = dev_get_by_name_rcu(net, name);
		if ((ok = dev && within_module((unsigned long)dev->netdev_ops,
					       mod)))
			break;
	}
	rcu_read_unlock();
	return ok;
}

/* One line naming what the service is, for the reader of the log. */
static void log_noted(struct chariot_domain *d, const struct chariot_service *s)
{
	char line[128];
	size_t at = 0;
	unsigned int i;

	line[0] = 0;
	for (i = 0; i < s->nnames && at < sizeof(line); i++)
		at += scnprintf(line + at, sizeof(line) - at, " %s",
				s->names[i].name);
	for (i = 0; i < s->ndevs && at < sizeof(line); i++)
		at += scnprintf(line + at, sizeof(line) - at, " %s(unprobed)",
				dev_name(s->devs[i]));
	pr_info("%s: recovery: serves%s\n", d->name, at ? line : " nothing named");
}

/**
 * chariot_service_note() - note what d's module serves now
 * @d: the failed domain, before its teardown
 * @s: filled in; the devices in it are held (chariot_service_drop())
 *
 * May sleep.
 */
void chariot_service_note(struct chariot_domain *d, struct chariot_service *s)
{
	struct module *mod = READ_ONCE(d->mod);
	struct net_device *dev;
	struct net *net;

	memset(s, 0, sizeof(*s));
	s->ndevs = chariot_iface_unprobed(d, s->devs, CHARIOT_UNPROBED_MAX);
	if (mod) {	/* else gone with its init: it served nothing */
		each_disk(mod, note_disk, s);
		/* RCU, not rtnl: copying names needs no more, and the
		 * recovery should not queue behind the failed call's
		 * caller for a lock */
		rcu_read_lock();
		for_each_net_rcu(net)
			for_each_netdev_rcu(net, dev)
				if (within_module((unsigned long)dev->netdev_ops,
						  mod))
					add_name(s, CHARIOT_SERVED_NETDEV,
						 dev->name);
		rcu_read_unlock();
	}
	log_noted(d, s);
}

/* What of s mod does not serve: the first name or device missing. */
static const char *missing(struct module *mod, const struct chariot_service *s)
{
	unsigned int i;

	for (i = 0; i < s->nnames; i++) {
		const struct chariot_served *x = &s->names[i];

		if (x->kind == CHARIOT_SERVED_DISK ?
		    !each_disk(mod, is_named, (void *)x->name) :
		    !netdev_served(mod, x->name))
			return x->name;
	}
	for (i = 0; i < s->ndevs; i++) {
		struct device *dev = s->devs[i];
		bool bound;

		device_lock(dev);
		bound = dev->driver &&
			within_module((unsigned long)dev->driver, mod);
		device_unlock(dev);
		if (!bound)
			return dev_name(dev);
	}
	return NULL;
}

/**
 * chariot_service_back() - whether d's module, loaded again, serves what
 * chariot_service_note() noted, waiting @wait_ms at most (probes may run
 * after init: asynchronous ones)
 * @d:       the domain, its module loaded again (or not: false)
 * @s:       what was noted (chariot_service_drop() after)
 * @wait_ms: how long to wait
 *
 * May sleep.
 */
bool chariot_service_back(struct chariot_domain *d, struct chariot_service *s,
			  unsigned int wait_ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(wait_ms);
	const char *gone;
	struct module *mod;

	for (;;) {
		mod = READ_ONCE(d->mod);
		gone = mod ? missing(mod, s) : d->name;
		if (!gone || time_after(jiffies, end))
			break;
		msleep(CHARIOT_POLL_MS);
	}
	if (gone)
		pr_warn("%s: recovery: %s not served again\n", d->name, gone);
	return !gone;
}

/* Let go of the devices s holds. */
void chariot_service_drop(struct chariot_service *s)
{
	unsigned int i;

	for (i = 0; i < s->ndevs; i++)
		put_device(s->devs[i]);
	s->ndevs = 0;
}
