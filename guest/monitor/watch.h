/* SPDX-License-Identifier: GPL-2.0 */
/*
 * watch.h - modules the VMM only watches (watch.c).
 */
#ifndef CHARIOT_MONITOR_WATCH_H
#define CHARIOT_MONITOR_WATCH_H

#include <linux/types.h>

struct chariot_batch;
struct module;

bool chariot_watch_wanted(void);
int chariot_watch_start(unsigned int first_id);
void chariot_watch_stop(void);
void chariot_watch_hand_over(struct chariot_batch *b, struct module *mod);

#endif
