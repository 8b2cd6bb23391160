// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - chariot_buggy: a small block driver with deliberate bugs, the
 * test subject of Chariot's driver isolation.
 *
 * It registers /dev/chariot_buggy0 (blk.c) and the write-only debugfs file
 * /sys/kernel/debug/chariot_buggy/trigger.  Writing a scenario's name to
 * it ("ok", "wild_write", "wild_atomic", "overflow", "uaf_write",
 * "foreign_write", "pt_write", "null_deref", "hang", "locked_fault",
 * "stack_smash", "kernel_oops", "deadlock", "lock_leak", "warn", "warn_io",
 * "nested_warn", "timeout_fault", "lost_request", "dropped_request") runs
 * that scenario in the write handler, which is this module's code, so an
 * isolated chariot_buggy is held to its authorization table while it runs
 * (scenarios.c has the details; warn_io, timeout_fault, lost_request and
 * dropped_request fault later, in the I/O path).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "buggy.h"

static struct dentry *buggy_dir;

/* A scenario init runs once it has registered everything: a fault in a
 * driver's init, for the recovery tests. */
static char *init_fault = "";
module_param(init_fault, charp, 0444);
MODULE_PARM_DESC(init_fault, "scenario to run at the end of init");

/* disk=0: no block device, only the trigger.  Registering a disk is most
 * of init's work (add_disk, the partition scan's reads through this
 * driver), which is slow where every write of init traps (readonly-all in
 * emulation: 5.5 minutes for the init with the disk). */
static bool disk = true;
module_param(disk, bool, 0444);
MODULE_PARM_DESC(disk, "register /dev/chariot_buggy0 (default 1)");

/* Runs the scenario named by the written word (a trailing newline is
 * ignored); an unknown name is -EINVAL. */
static ssize_t trigger_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char word[32];
	size_t n = min(len, sizeof(word) - 1);
	int err;

	if (copy_from_user(word, ubuf, n))
		return -EFAULT;
	word[n] = '\0';
	err = buggy_scenario_run(strim(word));
	return err ? err : len;
}

static const struct file_operations trigger_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = trigger_write,
	.llseek = no_llseek,
};

static int __init buggy_init(void)
{
	struct dentry *trigger;
	int err;

	err = disk ? buggy_blk_init() : 0;
	if (err)
		return err;
	buggy_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	trigger = debugfs_create_file("trigger", 0200, buggy_dir, NULL,
				      &trigger_fops);
	if (IS_ERR(trigger)) {
		err = PTR_ERR(trigger);
		goto remove;
	}
	if (*init_fault) {
		pr_info("init: running %s\n", init_fault);
		err = buggy_scenario_run(init_fault);
		if (err)
			goto remove;
	}
	pr_info("loaded\n");
	return 0;

remove:
	debugfs_remove(buggy_dir);
	if (disk)
		buggy_blk_exit();
	return err;
}

static void __exit buggy_exit(void)
{
	debugfs_remove(buggy_dir);
	if (disk)
		buggy_blk_exit();
	pr_info("unloaded\n");
}

module_init(buggy_init);
module_exit(buggy_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Chariot test driver: a RAM block device with deliberate bugs");
