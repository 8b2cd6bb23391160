/* machine.h - a whole guest: the VM, its vCPUs, its devices and the guest
 * channel, wired from a configuration, run to one of a few well-defined
 * ends. The CLI turns a machine_result into messages and exit codes. */
#ifndef CHARIOT_MACHINE_H
#define CHARIOT_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/rtc.h"
#include "devices/serial.h"
#include "inject/inject.h"
#include "iso/engine.h"
#include "vmm/boot.h"
#include "vmm/channel.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define MACHINE_MAX_CPUS	64
#define MACHINE_MAX_DISKS	8
#define MACHINE_MAX_VIRTIO	12

enum net_mode { NET_NONE, NET_PAIR, NET_TAP };

struct machine_config {
	const char *kernel;
	const char *initrd;
	const char *append;	/* kernel command line (devices are added),
				 * BOOT_DEFAULT_APPEND unless told */
	uint64_t mem_mib;
	int cpus;
	const char *disks[MACHINE_MAX_DISKS];
	int ndisks;
	enum net_mode net;
	const char *tap;	/* interface name for NET_TAP */
	double timeout_s;	/* 0: none */
	int argc;		/* guest command, argc 0 = interactive shell */
	char **argv;
	int console_fd;		/* where the guest console goes */
	/* Isolation: the modules (at most ENGINE_MAX_MODULES, none: off),
	 * passed to the guest monitor as chariot_monitor.isolate=A,B. */
	const char *isolate[ENGINE_MAX_MODULES];
	int nisolate;
	bool learn;		/* --policy learn */
	/* --recover, passed to the guest monitor as chariot_monitor.recover=
	 * (with recover_limit= and recover_window=) and to the engine. */
	enum recover_mode recover;
	unsigned int recover_limit, recover_window_s, hang_ms;
	bool iso_mech_forced;	/* use iso_mech, do not probe */
	enum protect_mech iso_mech;
	/* A fault to inject (--inject), or NULL.  Its module must be one of
	 * isolate[] when there are any; otherwise it is only watched. */
	const struct inject_spec *inject;
	/* --snapshot: restore the guest from this file when it was taken
	 * for this configuration, else boot and save it when init starts. */
	const char *snapshot;
};

enum machine_end {
	END_NONE,
	END_POWEROFF,		/* the guest powered off (status, if any, set) */
	END_PANIC,		/* guest kernel panic */
	END_RESET,		/* triple fault or reset request */
	END_TIMEOUT,		/* --timeout elapsed */
	END_INTERNAL,		/* KVM internal error or VMM failure */
	END_QUIT,		/* the user quit the console (Ctrl-A x) */
};

struct machine_result {
	enum machine_end end;
	int guest_status;	/* the guest command's exit status, or -1 */
	double wall_ms;
	double boot_to_init_ms;	/* -1 when init never reported */
	uint64_t exits[VCPU_EXIT_REASONS];
	uint64_t unclaimed_io;
	char msg[320];		/* why it ended, one line */
	/* A vCPU that triple-faulted or hit a KVM error ended it, or at a
	 * timeout the first vCPU not halted: its last exits
	 * (vcpu_history()), else last_exits_vcpu is -1. */
	int last_exits_vcpu;
	char last_exits[2048];
};

enum snap_action {
	SNAP_NONE,		/* no --snapshot */
	SNAP_SAVING,		/* booting; saved when init starts */
	SNAP_SAVED,
	SNAP_SAVE_FAILED,	/* the run went on without */
	SNAP_RESTORED,
};

/* What --snapshot did, for the report. */
struct snap_info {
	enum snap_action action;
	double ms;		/* to save or restore it */
	uint64_t ram_bytes;	/* non-zero RAM in it */
	char why[300];		/* a save that failed, or a stale file replaced */
};

struct virtio_slot {
	struct virtio_mmio *transport;
	uint64_t base;
	uint32_t irq;
	void *dev;
	void (*destroy)(void *dev);
};

#define CONSOLE_TAIL 4096

struct machine {
	struct machine_config cfg;
	struct vm vm;
	struct vcpu cpus[MACHINE_MAX_CPUS];
	int ncpus;
	struct serial serial;
	struct rtc rtc;
	struct channel chan;
	struct virtio_slot virtio[MACHINE_MAX_VIRTIO];
	int nvirtio;
	struct boot_image img;
	struct engine *iso;	/* the isolation engine, or NULL */
	struct injector *inj;	/* --inject, or NULL */

	pthread_mutex_t lock;	/* guards the fields below */
	pthread_cond_t ended;
	struct machine_result res;
	char tail[CONSOLE_TAIL];	/* the last console bytes, for panics */
	size_t tail_len;
	struct timespec start;
	volatile int stopping;
	int stuck;		/* a vCPU thread did not stop */

	/* Pausing every vCPU to save a snapshot (only vCPU threads park). */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cv;
	volatile int pause;	/* vCPUs park at their next interruption */
	int parked;
	unsigned int pause_gen;	/* bumped when the pause ends */
	char *snap_key;		/* this configuration, for --snapshot */
	struct snap_info snap;
};

/* Build the whole machine. -errno and a one-line reason on failure; err
 * starts with "bad input:" when the configuration itself is at fault. */
int machine_create(struct machine *m, const struct machine_config *cfg,
		   char *err, size_t errlen);

/* Does isolation run whole driver calls write-protected, the kernel code
 * they call included (no fetch switching: every write traps)? */
bool machine_protects_whole_calls(const struct machine *m);

/* Run until one of the ends; fills *res. */
void machine_run(struct machine *m, struct machine_result *res);

/* End the run from any thread (first reason wins). */
void machine_end(struct machine *m, enum machine_end end, int status,
		 const char *msg);

/* Make vCPU id of the machine (opaque) leave KVM_RUN soon.  Any thread. */
void machine_kick_vcpu(void *opaque, unsigned int id);

/* Feed console input (from the host terminal). */
void machine_console_input(struct machine *m, const uint8_t *buf, size_t len);

void machine_destroy(struct machine *m);

/* Write the run report as JSON. */
int machine_report_json(const struct machine *m, const struct machine_result *res,
			FILE *f);

const char *machine_end_name(enum machine_end end);

#endif
