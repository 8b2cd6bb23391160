// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - the monitor's counters in /sys/kernel/debug/chariot/stats:
 * the ring and its doorbells, records posted by type, grants and
 * revocations by kind, each domain (probes, entries, leaves, interface
 * objects), the contexts inside domains, the grants outstanding, the
 * allocation probes; and in .../functions each probed function's calls
 * and domain entries.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "monitor.h"

struct chariot_stats chariot_stats;

static struct dentry *dir;

static const char *const rec_names[CHARIOT_REC_TYPES] = {
	[CHARIOT_REC_DOMAIN_CREATE] = "create",
	[CHARIOT_REC_DOMAIN_CODE] = "code",
	[CHARIOT_REC_DOMAIN_DESTROY] = "destroy",
	[CHARIOT_REC_GRANT] = "grant",
	[CHARIOT_REC_REVOKE] = "revoke",
	[CHARIOT_REC_ENTER] = "enter",
	[CHARIOT_REC_LEAVE] = "leave",
	[CHARIOT_REC_TRUSTED_RANGE] = "trusted",
	[CHARIOT_REC_DOMAIN_UNCODE] = "uncode",
	[CHARIOT_REC_PAGE_FREED] = "page_freed",
	[CHARIOT_REC_THUNK] = "thunk",
	[CHARIOT_REC_TRUSTED_GONE] = "trusted_gone",
};

static const char *const kind_names[CHARIOT_GRANT_KINDS] = {
	[CHARIOT_GRANT_MODULE_DATA] = "module",
	[CHARIOT_GRANT_KMALLOC] = "kmalloc",
	[CHARIOT_GRANT_KMEM_CACHE] = "kmem_cache",
	[CHARIOT_GRANT_VMALLOC] = "vmalloc",
	[CHARIOT_GRANT_PAGES] = "pages",
	[CHARIOT_GRANT_STACK] = "stack",
	[CHARIOT_GRANT_IFACE] = "iface",
	[CHARIOT_GRANT_SKB] = "skb",
	[CHARIOT_GRANT_DMA] = "dma",
	[CHARIOT_GRANT_IOREMAP] = "ioremap",
};

#define V(field)	atomic64_read(&chariot_stats.field)

static void show_records(struct seq_file *m)
{
	u64 total = 0;
	int i;

	for (i = 1; i < CHARIOT_REC_TYPES; i++)
		total += V(records[i]);
	seq_printf(m, "records posted: %llu (", total);
	for (i = 1; i < CHARIOT_REC_TYPES; i++)
		seq_printf(m, "%s%s %lld", i > 1 ? ", " : "", rec_names[i],
			   V(records[i]));
	seq_puts(m, ")\ngrant records by kind:");
	for (i = 0; i < CHARIOT_GRANT_KINDS; i++)
		seq_printf(m, " %s %lld", kind_names[i], V(grants[i]));
	seq_puts(m, "\nrevoke records by kind:");
	for (i = 0; i < CHARIOT_GRANT_KINDS; i++)
		seq_printf(m, " %s %lld", kind_names[i], V(revokes[i]));
	seq_puts(m, "\n");
}

static void show_grants(struct seq_file *m)
{
	seq_printf(m, "grants outstanding (by cookie): stack %lld, interface %lld, module %lld, allocations: see below\n",
		   V(stack_grants) - V(stack_revokes),
		   V(iface_grants) - V(iface_revokes),
		   V(module_grants) - V(module_revokes));
	seq_printf(m, "grants made (by cookie): stack %lld, interface %lld (rejected guesses %lld), module %lld, allocations %lld (revoked at free %lld, untracked %lld, new slab pages not granted %lld, made deep under a driver not granted %lld, stack walk lost granted %lld)\n",
		   V(stack_grants), V(iface_grants), V(iface_rejected),
		   V(module_grants), V(alloc_grants), V(alloc_revokes),
		   V(alloc_untracked), V(alloc_slab_pages), V(alloc_deep),
		   V(alloc_walk_lost));
	seq_printf(m, "trusted ranges posted: %lld, untranslatable ranges: %lld, frees of system pages posted: %lld\n",
		   V(trusted), V(untranslatable), V(sys_pages_freed));
}

static void show_contexts(struct seq_file *m)
{
	seq_printf(m, "contexts: tasks inside now %d, switch-outs (LEAVEs) %lld, switch-ins (ENTERs) %lld, died inside %lld\n",
		   chariot_ctx_tasks(), V(switch_leaves), V(switch_enters),
		   V(dead_tasks));
	seq_printf(m, "contexts: table full %lld, nesting overflow %lld, frame mismatches %lld, no stack found %lld\n",
		   V(ctx_full), V(nest_overflow), V(frame_mismatch),
		   V(no_stack));
}

static int stats_show(struct seq_file *m, void *unused)
{
	chariot_ring_show(m);
	if (!chariot_ring_active())
		return 0;
	show_records(m);
	chariot_domains_show(m);
	show_contexts(m);
	show_grants(m);
	chariot_alloc_show(m);
	chariot_recover_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int functions_show(struct seq_file *m, void *unused)
{
	chariot_domains_show_functions(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(functions);

/**
 * chariot_debugfs_start() - create /sys/kernel/debug/chariot/stats
 *
 * Return: 0 (debugfs failures are not fatal).
 */
int chariot_debugfs_start(void)
{
	dir = debugfs_create_dir("chariot", NULL);
	debugfs_create_file("stats", 0444, dir, NULL, &stats_fops);
	debugfs_create_file("functions", 0444, dir, NULL, &functions_fops);
	chariot_recover_debugfs(dir);
	return 0;
}

/**
 * chariot_debugfs_stop() - remove it
 */
void chariot_debugfs_stop(void)
{
	debugfs_remove(dir);
	dir = NULL;
}
