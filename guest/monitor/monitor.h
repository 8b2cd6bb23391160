/* SPDX-License-Identifier: GPL-2.0 */
/*
 * monitor.h - what the parts of the Chariot guest monitor module share.
 *
 * main.c loads and unloads the module; channel.c owns the VMM's I/O ports
 * and the shared-memory area; announce.c says who we are; panic.c reports
 * a kernel panic.  The driver monitor (kprobes, module notifier) joins
 * them here later.
 */
#ifndef CHARIOT_MONITOR_H
#define CHARIOT_MONITOR_H

#include "chariot_abi.h"

int chariot_channel_open(void);
void chariot_channel_close(void);
void chariot_channel_announce(const struct chariot_announce *a);
void chariot_channel_panic(const char *msg);

int chariot_announce(void);

int chariot_panic_register(void);
void chariot_panic_unregister(void);

void chariot_channel_poweroff(void);
int chariot_poweroff_register(void);
void chariot_poweroff_unregister(void);

#endif /* CHARIOT_MONITOR_H */
