/* machine_snap.h - --snapshot for a machine (machine_snap.c): machine.c's
 * side of it. */
#ifndef CHARIOT_MACHINE_SNAP_H
#define CHARIOT_MACHINE_SNAP_H

#include <stdint.h>
#include <stdio.h>

#include "vmm/machine.h"

/* At creation, with the kernel command line and guest command archive
 * built: 1 when cfg.snapshot holds this configuration (restore it instead
 * of loading the kernel), 0 when the run boots (and saves one at init if
 * cfg.snapshot is set), -errno with a reason for a file that is not a
 * snapshot or cannot be read or replaced. */
int msnap_prepare(struct machine *m, const char *cmdline, const uint8_t *cpio,
		  size_t cpio_len, char *err, size_t errlen);

/* Bring the created vCPUs, chips, clock, UART, RTC and RAM to the
 * snapshot's state.  Before the vCPU threads start. */
int msnap_restore(struct machine *m, char *err, size_t errlen);

/* Init has started: if a snapshot is to be saved, ask every vCPU to
 * park.  From any thread. */
void msnap_init_started(struct machine *m);

/* From a vCPU thread whose KVM_RUN was interrupted while m->pause is
 * set: wait until the pause ends; the last vCPU to park saves the
 * snapshot first. */
void msnap_park(struct machine *m);

/* The report's "snapshot" member (with its leading comma). */
void msnap_json(const struct machine *m, FILE *f);

#endif
