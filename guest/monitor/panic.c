// SPDX-License-Identifier: GPL-2.0
/*
 * panic.c - report a kernel panic to the VMM, with its message, before
 * the kernel stops or reboots.
 */
#include <linux/kernel.h>
#include <linux/notifier.h>
#include <linux/panic_notifier.h>

#include "monitor.h"

/* Runs in panic context, other CPUs stopped: copy and ring, nothing else. */
static int panic_event(struct notifier_block *nb, unsigned long action,
		       void *msg)
{
	chariot_channel_panic(msg);
	return NOTIFY_DONE;
}

static struct notifier_block panic_nb = {
	.notifier_call = panic_event,
	.priority = INT_MAX,	/* before anything that might hang */
};

/**
 * chariot_panic_register() - report panics from now on
 *
 * Return: 0 or -errno.
 */
int chariot_panic_register(void)
{
	return atomic_notifier_chain_register(&panic_notifier_list, &panic_nb);
}

/**
 * chariot_panic_unregister() - stop reporting panics
 *
 * On return no report is in flight, so the channel may be closed.
 */
void chariot_panic_unregister(void)
{
	atomic_notifier_chain_unregister(&panic_notifier_list, &panic_nb);
}
