/* machine.c - wiring a guest from its configuration, and running it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "chariot_abi.h"
#include "devices/rtc.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "vmm/cmdcpio.h"
#include "vmm/errmsg.h"
#include "vmm/json.h"
#include "vmm/machine.h"
#include "vmm/machine_snap.h"

#define SERIAL_PORT	0x3f8
#define SERIAL_IRQ	4
#define I8042_PORT	0x64
#define VIRTIO_BASE	0xd0000000ull
#define VIRTIO_SIZE	0x200
/* A protected vCPU silent this long may be stuck delivering an event. */
#define ISO_WATCHDOG_MS	10

/* ISA IRQs free for virtio devices (edge-triggered, from the MP table). */
static const uint32_t virtio_irqs[MACHINE_MAX_VIRTIO] = {
	5, 6, 7, 9, 10, 11, 12, 14, 15, 3, 13, 1,
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

const char *machine_end_name(enum machine_end end)
{
	static const char *const names[] = {
		[END_NONE] = "none", [END_POWEROFF] = "poweroff",
		[END_PANIC] = "panic", [END_RESET] = "reset",
		[END_TIMEOUT] = "timeout", [END_INTERNAL] = "internal-error",
		[END_QUIT] = "quit",
	};

	return names[end];
}

/* End the run (first reason wins); c, when a vCPU's triple fault or KVM
 * error ends it, gives its last exits to the result under the same lock,
 * so they belong to the end recorded. */
static void end_run(struct machine *m, enum machine_end end, int status,
		    const char *msg, const struct vcpu *c)
{
	pthread_mutex_lock(&m->lock);
	if (m->res.end == END_NONE) {
		m->res.end = end;
		if (status >= 0)
			m->res.guest_status = status;
		snprintf(m->res.msg, sizeof(m->res.msg), "%s", msg ? msg : "");
		if (c) {
			m->res.last_exits_vcpu = c->id;
			vcpu_history(c, m->res.last_exits,
				     sizeof(m->res.last_exits));
		}
		pthread_cond_broadcast(&m->ended);
	}
	pthread_mutex_unlock(&m->lock);
}

void machine_end(struct machine *m, enum machine_end end, int status,
		 const char *msg)
{
	end_run(m, end, status, msg, NULL);
}

/* The console goes to the user and into a tail kept to recognise a panic
 * that happens before the guest monitor can report it. */
static void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(m->cfg.console_fd, buf + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_lock(&m->lock);
	if (len >= CONSOLE_TAIL) {
		memcpy(m->tail, buf + len - CONSOLE_TAIL, CONSOLE_TAIL);
		m->tail_len = CONSOLE_TAIL;
	} else {
		if (m->tail_len + len > CONSOLE_TAIL) {
			size_t drop = m->tail_len + len - CONSOLE_TAIL;

			memmove(m->tail, m->tail + drop, m->tail_len - drop);
			m->tail_len -= drop;
		}
		memcpy(m->tail + m->tail_len, buf, len);
		m->tail_len += len;
	}
	pthread_mutex_unlock(&m->lock);
}

void machine_console_input(struct machine *m, const uint8_t *buf, size_t len)
{
	/* The UART FIFO is small: wait for the guest to drain it, so pasted
	 * input is not lost (a stopping machine gives up). */
	while (len && !m->stopping) {
		size_t n = serial_receive(&m->serial, buf, len);

		buf += n;
		len -= n;
		if (len)
			usleep(1000);
	}
}

static bool tail_has_panic(struct machine *m)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = memmem(m->tail, m->tail_len, "Kernel panic", 12) != NULL;
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* The guest resets through the keyboard controller (reboot=k): 0xfe to
 * port 0x64. Status reads say "nothing pending" so it never waits. */
static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct machine *m = opaque;

	(void)off;
	if (!is_write) {
		/* Output full, input empty: Linux's i8042 probe flushes,
		 * sees a stuck controller and gives up at once, and the
		 * reset path never waits for the input buffer. */
		memset(data, 0x01, len);
		return;
	}
	if (data[0] == 0xfe) {
		if (tail_has_panic(m))
			machine_end(m, END_PANIC, -1, "guest kernel panic");
		else
			machine_end(m, END_RESET, -1, "guest reset");
	}
}

static void channel_event(void *opaque, enum channel_event ev)
{
	struct machine *m = opaque;
	struct channel_state st;
	char msg[CHARIOT_PANIC_LEN + 32];

	channel_state(&m->chan, &st);
	switch (ev) {
	case CHANNEL_EV_ANNOUNCE:
		if (m->iso)
			engine_announce(m->iso, st.announce.kernel_text,
					st.announce.kernel_etext);
		break;
	case CHANNEL_EV_INIT:
		pthread_mutex_lock(&m->lock);
		m->res.boot_to_init_ms = ms_since(&m->start);
		pthread_mutex_unlock(&m->lock);
		msnap_init_started(m);
		break;
	case CHANNEL_EV_PANIC:
		snprintf(msg, sizeof(msg), "guest kernel panic: %s", st.panic_msg);
		machine_end(m, END_PANIC, -1, msg);
		break;
	case CHANNEL_EV_EXIT:
		machine_end(m, END_POWEROFF, st.exit_status, "guest powered off");
		break;
	case CHANNEL_EV_POWEROFF:
		machine_end(m, END_POWEROFF, -1, "guest powered off");
		break;
	default:
		break;
	}
}

static int add_virtio(struct machine *m, struct virtio_mmio *t, void *dev,
		      void (*destroy)(void *dev))
{
	struct virtio_slot *s = &m->virtio[m->nvirtio];
	int r;

	s->transport = t;
	s->base = VIRTIO_BASE + (uint64_t)m->nvirtio * VIRTIO_SIZE;
	s->irq = virtio_irqs[m->nvirtio];
	s->dev = dev;
	s->destroy = destroy;
	r = bus_register(&m->vm.mmio, s->base, VIRTIO_SIZE, virtio_mmio_io, t);
	if (!r)
		m->nvirtio++;
	return r;
}

static struct irq_line next_irq(struct machine *m)
{
	return (struct irq_line){ vm_irq_line, &m->vm, virtio_irqs[m->nvirtio] };
}

static void destroy_blk(void *d) { virtio_blk_destroy(d); }
static void destroy_net(void *d) { virtio_net_destroy(d); }

static int add_disks(struct machine *m, char *err, size_t errlen)
{
	for (int i = 0; i < m->cfg.ndisks; i++) {
		struct virtio_blk *b;
		char e[256] = "";
		int r = virtio_blk_create(&b, &m->vm.mem, next_irq(m),
					  m->cfg.disks[i], e, sizeof(e));

		if (r)
			return errmsg(err, errlen, r, "bad input: --disk %s", e);
		r = add_virtio(m, virtio_blk_transport(b), b, destroy_blk);
		if (r)
			return errmsg(err, errlen, r, "too many devices");
	}
	return 0;
}

static int add_net(struct machine *m, char *err, size_t errlen)
{
	struct virtio_net *a, *b;
	char e[256] = "";
	int r;

	if (m->cfg.net == NET_PAIR) {
		struct irq_line ia = next_irq(m);
		struct irq_line ib = { vm_irq_line, &m->vm, virtio_irqs[m->nvirtio + 1] };

		r = virtio_net_pair_create(&a, &b, &m->vm.mem, ia, ib, e, sizeof(e));
		if (r)
			return errmsg(err, errlen, r, "--net pair: %s", e);
		if (add_virtio(m, virtio_net_transport(a), a, destroy_net) ||
		    add_virtio(m, virtio_net_transport(b), b, destroy_net))
			return errmsg(err, errlen, -ENOSPC, "too many devices");
	} else if (m->cfg.net == NET_TAP) {
		r = virtio_net_tap_create(&a, &m->vm.mem, next_irq(m), m->cfg.tap,
					  e, sizeof(e));
		if (r)
			return errmsg(err, errlen, r, "bad input: --net tap:%s: %s",
				    m->cfg.tap, e);
		if (add_virtio(m, virtio_net_transport(a), a, destroy_net))
			return errmsg(err, errlen, -ENOSPC, "too many devices");
	}
	return 0;
}

static int add_legacy(struct machine *m, char *err, size_t errlen)
{
	struct irq_line irq = { vm_irq_line, &m->vm, SERIAL_IRQ };
	struct serial_out out = { console_write, m };
	uint64_t shm_gpa = m->vm.mem.low_size - CHARIOT_SHM_SIZE;
	void *shm = guest_mem_ptr(&m->vm.mem, shm_gpa, CHARIOT_SHM_SIZE);
	int r;

	r = serial_init(&m->serial, irq, out);
	if (!r)
		r = bus_register(&m->vm.pio, SERIAL_PORT, 8, serial_io, &m->serial);
	if (!r)
		r = bus_register(&m->vm.pio, I8042_PORT, 1, i8042_io, m);
	if (!r) {
		rtc_init(&m->rtc, NULL);
		r = bus_register(&m->vm.pio, RTC_PORT, RTC_PORT_LEN, rtc_io, &m->rtc);
	}
	if (!r)
		r = channel_init(&m->chan, shm, shm_gpa, CHARIOT_SHM_SIZE,
				 channel_event, m);
	if (!r)
		r = bus_register(&m->vm.pio, CHARIOT_PORT_BASE, CHARIOT_PORT_LEN,
				 channel_io, &m->chan);
	return r ? errmsg(err, errlen, r, "setting up legacy devices: %s",
			strerror(-r)) : 0;
}

/* Is the --inject module watched (monitor watch=, an engine module of
 * its own)?  Whether isolated too or not: the monitor then posts its code
 * before the isolation probes it (kprobes' int3 bytes in it), so the
 * mutation is chosen from the same text as in an unprotected run
 * (watch.c).  No room beside 16 isolated modules: then from the probed
 * text. */
static bool inject_watched(const struct machine *m)
{
	return m->cfg.inject && m->cfg.nisolate < ENGINE_MAX_MODULES;
}

static int build_cmdline(struct machine *m, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s", m->cfg.append);

	for (int i = 0; i < m->cfg.nisolate && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "," : " chariot_monitor.isolate=",
					m->cfg.isolate[i]);
	if (m->cfg.nisolate && off < len)
		off += (size_t)snprintf(buf + off, len - off,
			" chariot_monitor.recover=%s chariot_monitor.recover_limit=%u"
			" chariot_monitor.recover_window=%u",
			recover_mode_name(m->cfg.recover), m->cfg.recover_limit,
			m->cfg.recover_window_s);
	if (inject_watched(m) && off < len)
		off += (size_t)snprintf(buf + off, len - off,
					" chariot_monitor.watch=%s",
					m->cfg.inject->module);

	for (int i = 0; i < m->nvirtio && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off,
					" virtio_mmio.device=%u@0x%llx:%u",
					VIRTIO_SIZE,
					(unsigned long long)m->virtio[i].base,
					m->virtio[i].irq);
	return off < len ? 0 : -E2BIG;
}

/* Is the --inject module one of the isolated ones? */
static bool inject_isolated(const struct machine_config *c)
{
	for (int i = 0; i < c->nisolate; i++)
		if (!strcmp(c->isolate[i], c->inject->module))
			return true;
	return false;
}

static int check_config(const struct machine_config *c, char *err, size_t errlen)
{
	struct sysinfo si;

	if (c->cpus < 1 || c->cpus > MACHINE_MAX_CPUS)
		return errmsg(err, errlen, -EINVAL, "bad input: --cpus must be 1..%d",
			    MACHINE_MAX_CPUS);
	if (c->mem_mib < 64)
		return errmsg(err, errlen, -EINVAL, "bad input: --mem must be at least 64 MiB");
	if (!sysinfo(&si) &&
	    c->mem_mib > (uint64_t)si.totalram * si.mem_unit >> 20)
		return errmsg(err, errlen, -EINVAL,
			    "bad input: --mem %llu MiB is more than the host's %llu MiB",
			    (unsigned long long)c->mem_mib,
			    (unsigned long long)((uint64_t)si.totalram * si.mem_unit >> 20));
	if (access(c->kernel, R_OK))
		return errmsg(err, errlen, -ENOENT, "bad input: kernel %s: %s",
			    c->kernel, strerror(errno));
	if (c->initrd && access(c->initrd, R_OK))
		return errmsg(err, errlen, -ENOENT, "bad input: initrd %s: %s",
			    c->initrd, strerror(errno));
	if (c->ndisks > MACHINE_MAX_DISKS)
		return errmsg(err, errlen, -EINVAL, "bad input: at most %d disks",
			    MACHINE_MAX_DISKS);
	for (int i = 0; i < c->ndisks; i++) {
		char e[256] = "";
		int r = virtio_blk_check(c->disks[i], e, sizeof(e));

		if (r)
			return errmsg(err, errlen, r, "bad input: --disk %s", e);
	}
	if (c->nisolate < 0 || c->nisolate > ENGINE_MAX_MODULES)
		return errmsg(err, errlen, -EINVAL,
			    "bad input: at most %d --isolate modules",
			    ENGINE_MAX_MODULES);
	if (c->inject && c->nisolate && !inject_isolated(c))
		return errmsg(err, errlen, -EINVAL,
			    "bad input: --inject %s: with --isolate, the module "
			    "must be one of the isolated ones", c->inject->module);
	return 0;
}

/* Load the kernel, initramfs and command line into RAM, unless the
 * --snapshot file holds this configuration: then *restore is set and RAM
 * is filled from it later. */
static int load_guest(struct machine *m, bool *restore, char *err,
		      size_t errlen)
{
	char cmdline[BOOT_CMDLINE_MAX];
	uint8_t *cpio = NULL;
	size_t cpio_len = 0;
	struct boot_config bc;
	int r;

	*restore = false;
	if (build_cmdline(m, cmdline, sizeof(cmdline)))
		return errmsg(err, errlen, -E2BIG, "bad input: kernel command line too long");
	if (m->cfg.argc > 0) {
		r = cmdcpio_build(m->cfg.argc, m->cfg.argv, &cpio, &cpio_len);
		if (r)
			return errmsg(err, errlen, r, "bad input: guest command: %s",
				    strerror(-r));
	}
	r = msnap_prepare(m, cmdline, cpio, cpio_len, err, errlen);
	if (r) {
		free(cpio);
		*restore = r > 0;
		return r > 0 ? 0 : r;
	}
	bc = (struct boot_config){
		.kernel = m->cfg.kernel, .initrd = m->cfg.initrd,
		.extra = cpio, .extra_len = cpio_len, .cmdline = cmdline,
		.reserve_top = CHARIOT_SHM_SIZE,
	};
	r = boot_load(&m->vm.mem, &bc, &m->img, err, errlen);
	free(cpio);
	if (r) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		return errmsg(err, errlen, r, "bad input: %s", why);
	}
	if (x86_build_mptable(&m->vm.mem, m->ncpus))
		return errmsg(err, errlen, -EFAULT, "cannot write the MP table");
	return 0;
}

static int create_cpus(struct machine *m, bool restore, char *err,
		       size_t errlen)
{
	for (int i = 0; i < m->cfg.cpus; i++) {
		int r = vcpu_create(&m->cpus[i], &m->vm, i, err, errlen);

		if (r)
			return r;
		m->cpus[i].owner = m;
		m->ncpus++;
	}
	if (restore)
		return msnap_restore(m, err, errlen);
	if (vcpu_setup_boot(&m->cpus[0], m->img.entry, BOOT_PARAMS_ADDR))
		return errmsg(err, errlen, -errno, "setting boot registers: %s",
			    strerror(errno));
	return 0;
}

/* Leave KVM_RUN soon: the flag covers a vCPU about to enter it, the
 * signal one inside. */
void machine_kick_vcpu(void *opaque, unsigned int id)
{
	struct machine *m = opaque;
	struct vcpu *c = &m->cpus[id];

	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_RELAXED);
	pthread_kill(c->thread, SIGUSR1);
}

static int event_pages(void *opaque, unsigned int id, uint64_t *gpa,
		       unsigned int max)
{
	struct machine *m = opaque;

	return vcpu_event_frame_pages(&m->cpus[id], gpa, max);
}

static int table_pages(void *opaque, unsigned int id, uint64_t *cr3,
		       bool user, uint64_t *gpa, unsigned int max)
{
	struct machine *m = opaque;

	return vcpu_page_table_pages(&m->cpus[id], cr3, user, gpa, max);
}

static int unemulated_write(void *opaque, unsigned int id, uint64_t *rip,
			    uint64_t gpa[2], uint32_t *len)
{
	struct machine *m = opaque;

	return vcpu_unemulated_write(&m->cpus[id], rip, gpa, len);
}

static int stack_pages(void *opaque, unsigned int id, uint64_t *gpa,
		       unsigned int max)
{
	struct machine *m = opaque;

	return vcpu_stack_pages(&m->cpus[id], gpa, max);
}

static bool halted(void *opaque, unsigned int id)
{
	struct machine *m = opaque;

	return vcpu_halted(&m->cpus[id]);
}

static int kernel_cr3(void *opaque, unsigned int id, uint64_t *cr3)
{
	struct machine *m = opaque;

	return vcpu_kernel_cr3(&m->cpus[id], cr3);
}

static int walk(void *opaque, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	struct machine *m = opaque;

	return vcpu_walk(&m->vm.mem, cr3, gva, gpa);
}

/* Switch views on instruction fetch wherever the SMM view is used (only
 * the driver's own instructions run protected), unless
 * CHARIOT_ISO_SWITCH=enter asks for the switch at ENTER/LEAVE records
 * (the whole call, kernel functions and interrupts included: to
 * compare). */
static bool fetch_switching(enum protect_mech mech)
{
	const char *how = getenv("CHARIOT_ISO_SWITCH");

	return mech == PROTECT_SMM_VIEW && !(how && !strcmp(how, "enter"));
}

/* Kernel pages the driver calls often run in the protected view
 * (iso/leaf.h) only with CHARIOT_ISO_LEAF=on: in the nested test host it
 * cut exits (null_blk -28%) but not time, and virtio_blk ran slower with
 * it; whether it pays on hardware KVM is to be measured there. */
static bool leaf_off(void)
{
	const char *how = getenv("CHARIOT_ISO_LEAF");

	return !how || strcmp(how, "on");
}

/* The engine drained a requested module's load: inject into it if it is
 * the --inject one.  On vcpu's thread (in kernel mode: a doorbell). */
static void module_loaded(void *opaque, unsigned int vcpu, unsigned int i,
			  uint64_t code, uint64_t len)
{
	struct machine *m = opaque;
	const char *name = m->iso->cfg.modules[i];
	struct inject_guest g = { &m->vm.mem, walk, m, 0 };

	if (!m->inj || strcmp(name, m->inj->spec.module))
		return;
	if (vcpu_kernel_cr3(&m->cpus[vcpu], &g.cr3))
		g.cr3 = 0;	/* the injector reports the failed walk */
	inject_module_loaded(m->inj, &g, code, len);
}

/* How activation is caught: an OUT in guest memory, unless
 * CHARIOT_INJECT_BREAK=hw asks for debug registers (inject.h). */
static enum inject_break inject_break(void)
{
	const char *how = getenv("CHARIOT_INJECT_BREAK");

	return how && !strcmp(how, "hw") ? INJECT_BREAK_HW : INJECT_BREAK_PORT;
}

static int create_injector(struct machine *m, char *err, size_t errlen)
{
	int r;

	m->inj = calloc(1, sizeof(*m->inj));
	if (!m->inj)
		return errmsg(err, errlen, -ENOMEM, "--inject: out of memory");
	r = inject_init(m->inj, m->cfg.inject, inject_break(), m->cfg.kernel,
			getenv("CHARIOT_SYSTEM_MAP"));
	if (r) {
		free(m->inj);
		m->inj = NULL;
		return errmsg(err, errlen, r, "--inject: kernel symbols: %s",
			    strerror(-r));
	}
	m->inj->kick = machine_kick_vcpu;
	m->inj->kick_opaque = m;
	m->inj->vcpus = (unsigned int)m->ncpus;
	for (int i = 0; i < m->ncpus; i++)
		m->cpus[i].inj = m->inj;
	return 0;
}

static int create_engine(struct machine *m, char *err, size_t errlen)
{
	uint64_t shm_gpa = m->vm.mem.low_size - CHARIOT_SHM_SIZE;
	struct engine_config ec = {
		.vcpus = (unsigned int)m->ncpus,
		.nmodules = (unsigned int)m->cfg.nisolate,
		.learn = m->cfg.learn,
		.recover = m->cfg.recover, .hang_ms = m->cfg.hang_ms,
		.mech = m->cfg.iso_mech_forced ? m->cfg.iso_mech
					       : protect_probe(m->vm.vm_fd),
		.mem = &m->vm.mem,
		.shm = guest_mem_ptr(&m->vm.mem, shm_gpa, CHARIOT_SHM_SIZE),
		.shm_gpa = shm_gpa, .shm_size = CHARIOT_SHM_SIZE,
		.vm_fd = m->vm.vm_fd,
		.kick = machine_kick_vcpu, .event_pages = event_pages,
		.table_pages = table_pages, .stack_pages = stack_pages,
		.unemulated_write = unemulated_write, .halted = halted,
		.kernel_cr3 = kernel_cr3, .walk = walk,
		.opaque = m,
		.watchdog_ms = ISO_WATCHDOG_MS,
	};
	int r;

	ec.fetch_switch = fetch_switching(ec.mech);
	ec.leaf_off = leaf_off();
	for (int i = 0; i < m->cfg.nisolate; i++)
		ec.modules[i] = m->cfg.isolate[i];
	if (m->cfg.inject) {
		ec.module_loaded = module_loaded;
		if (inject_watched(m)) {
			ec.modules[ec.nmodules] = m->cfg.inject->module;
			ec.watch[ec.nmodules++] = true;
		}
		if (!m->cfg.nisolate) {
			/* Only watched: nothing is ever protected, so the
			 * mechanism that sets nothing up until then. */
			ec.mech = PROTECT_READONLY_ALL;
			ec.fetch_switch = false;
		}
	}
	for (int i = 0; i < m->ncpus; i++)
		ec.vcpu_fd[i] = m->cpus[i].fd;
	m->iso = calloc(1, sizeof(*m->iso));
	if (!m->iso)
		return errmsg(err, errlen, -ENOMEM, "isolation: out of memory");
	r = engine_init(m->iso, &ec, err, errlen);
	if (r) {
		free(m->iso);
		m->iso = NULL;
		return r;
	}
	for (int i = 0; i < m->ncpus; i++)
		m->cpus[i].iso = m->iso;
	return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg,
		   char *err, size_t errlen)
{
	bool restore = false;
	int r;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->vm.kvm_fd = m->vm.vm_fd = -1;
	m->res.guest_status = -1;
	m->res.boot_to_init_ms = -1;
	m->res.last_exits_vcpu = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->ended, NULL);
	pthread_mutex_init(&m->park_lock, NULL);
	pthread_cond_init(&m->park_cv, NULL);
	r = check_config(cfg, err, errlen);
	if (!r)
		r = vm_open(&m->vm, err, errlen);
	if (!r)
		r = vm_create(&m->vm, cfg->mem_mib << 20, err, errlen);
	if (!r)
		r = add_legacy(m, err, errlen);
	if (!r)
		r = add_disks(m, err, errlen);
	if (!r)
		r = add_net(m, err, errlen);
	m->ncpus = 0;
	if (!r) {
		m->ncpus = cfg->cpus;	/* the MP table needs the count */
		r = load_guest(m, &restore, err, errlen);
		m->ncpus = 0;
	}
	if (!r)
		r = create_cpus(m, restore, err, errlen);
	if (!r && cfg->inject)
		r = create_injector(m, err, errlen);
	if (!r && (cfg->nisolate > 0 || cfg->inject))
		r = create_engine(m, err, errlen);
	return r;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct machine *m = c->owner;

	while (!m->stopping) {
		enum vcpu_event ev = vcpu_step(c);

		switch (ev) {
		case VCPU_CONTINUE:
			/* Paused: complete this exit first (KVM finishes
			 * an I/O at the next KVM_RUN; immediate_exit makes
			 * that return at once). */
			if (m->pause)
				__atomic_store_n(&c->run->immediate_exit, 1,
						 __ATOMIC_RELAXED);
			break;
		case VCPU_INTERRUPTED:
			if (m->pause)
				msnap_park(m);
			break;
		case VCPU_SHUTDOWN:
			if (tail_has_panic(m)) {
				machine_end(m, END_PANIC, -1,
					    "guest kernel panic");
			} else {
				char msg[sizeof(c->err) + 40];

				snprintf(msg, sizeof(msg), "guest triple fault "
					 "(shutdown): %s", c->err);
				end_run(m, END_RESET, -1, msg, c);
			}
			return NULL;
		case VCPU_RESET:
			machine_end(m, END_RESET, -1, "guest reset");
			return NULL;
		case VCPU_POWEROFF:
			machine_end(m, END_POWEROFF, -1, "guest powered off");
			return NULL;
		case VCPU_INTERNAL_ERROR:
			end_run(m, END_INTERNAL, -1, c->err, c);
			return NULL;
		}
	}
	return NULL;
}

/* Signals only kick vCPU threads out of KVM_RUN; the handler does nothing.
 * No SA_RESTART, so the ioctl returns EINTR. */
static void kick_handler(int sig)
{
	(void)sig;
}

static void stop_cpus(struct machine *m)
{
	m->stopping = 1;
	for (int i = 0; i < m->ncpus; i++)
		m->cpus[i].run->immediate_exit = 1;
	for (int i = 0; i < m->ncpus; i++)
		pthread_kill(m->cpus[i].thread, SIGUSR1);
	for (int i = 0; i < m->ncpus; i++) {
		struct timespec dl;

		/* A vCPU thread stuck in a device must not hang the VMM: the
		 * run has ended, report it (the process exits after). */
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 5;
		if (pthread_timedjoin_np(m->cpus[i].thread, NULL, &dl)) {
			fprintf(stderr, "chariot: vCPU %d did not stop within 5 s\n", i);
			m->stuck = 1;
		}
	}
}

static void wait_end(struct machine *m)
{
	struct timespec dl;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (m->cfg.timeout_s > 0) {
		double s = m->cfg.timeout_s;

		dl.tv_sec += (time_t)s;
		dl.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&m->lock);
	while (m->res.end == END_NONE) {
		int r = m->cfg.timeout_s > 0 ?
			pthread_cond_timedwait(&m->ended, &m->lock, &dl) :
			pthread_cond_wait(&m->ended, &m->lock);

		if (r == ETIMEDOUT && m->res.end == END_NONE) {
			pthread_mutex_unlock(&m->lock);
			machine_end(m, END_TIMEOUT, -1, "guest timed out");
			pthread_mutex_lock(&m->lock);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

/* A guest that timed out: where each vCPU was when stopped (a hang shows
 * as a RIP that stays; halted ones wait for an interrupt), appended to the
 * message.  Its threads are gone, so their fds are free to ask. */
static void where_cpus(struct machine *m)
{
	size_t n = strlen(m->res.msg);

	for (int i = 0; i < m->ncpus && n < sizeof(m->res.msg); i++) {
		struct kvm_regs r;
		bool halted = vcpu_halted(&m->cpus[i]);
		int w;

		if (ioctl(m->cpus[i].fd, KVM_GET_REGS, &r) < 0)
			continue;
		w = snprintf(m->res.msg + n, sizeof(m->res.msg) - n,
			     "%s vCPU %d at rip 0x%llx%s", i ? ";" : ":", i,
			     (unsigned long long)r.rip, halted ? " (halted)" : "");
		if (w < 0)
			break;
		n += (size_t)w;
		/* The first busy one's exits say what it kept doing. */
		if (!halted && m->res.last_exits_vcpu < 0) {
			m->res.last_exits_vcpu = i;
			vcpu_history(&m->cpus[i], m->res.last_exits,
				     sizeof(m->res.last_exits));
		}
	}
}

bool machine_protects_whole_calls(const struct machine *m)
{
	/* --inject alone only watches its module: nothing is protected. */
	return m->iso && m->cfg.nisolate > 0 && !engine_fetch_switching(m->iso);
}

void machine_run(struct machine *m, struct machine_result *res)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	pthread_condattr_t ca;

	/* The timeout is measured on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&m->ended);
	pthread_cond_init(&m->ended, &ca);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	for (int i = 0; i < m->ncpus; i++)
		if (pthread_create(&m->cpus[i].thread, NULL, vcpu_thread, &m->cpus[i])) {
			machine_end(m, END_INTERNAL, -1, "cannot start vCPU threads");
			m->ncpus = i;
			break;
		}
	wait_end(m);
	stop_cpus(m);
	pthread_mutex_lock(&m->lock);
	if (m->res.end == END_TIMEOUT && !m->stuck)
		where_cpus(m);
	m->res.wall_ms = ms_since(&m->start);
	for (int i = 0; i < m->ncpus; i++) {
		for (int r = 0; r < VCPU_EXIT_REASONS; r++)
			m->res.exits[r] += m->cpus[i].exits[r];
		m->res.unclaimed_io += m->cpus[i].unclaimed_io;
	}
	*res = m->res;
	pthread_mutex_unlock(&m->lock);
}

void machine_destroy(struct machine *m)
{
	if (m->stuck)	/* a vCPU thread may still use all of it */
		return;
	if (m->iso) {
		engine_destroy(m->iso);
		free(m->iso);
		m->iso = NULL;
	}
	if (m->inj) {
		inject_destroy(m->inj);
		free(m->inj);
		m->inj = NULL;
	}
	for (int i = 0; i < m->ncpus; i++)
		vcpu_destroy(&m->cpus[i]);
	for (int i = 0; i < m->nvirtio; i++)
		m->virtio[i].destroy(m->virtio[i].dev);
	vm_destroy(&m->vm);
	channel_destroy(&m->chan);
	free(m->snap_key);
	m->snap_key = NULL;
}

int machine_report_json(const struct machine *m, const struct machine_result *res,
			FILE *f)
{
	int first = 1;

	fputs("{\n  \"end\": ", f);
	json_string(f, machine_end_name(res->end));
	fputs(",\n  \"message\": ", f);
	json_string(f, res->msg);
	if (res->last_exits_vcpu >= 0) {
		fprintf(f, ",\n  \"last_exits\": {\"vcpu\": %d, \"exits\": ",
			res->last_exits_vcpu);
		json_string(f, res->last_exits);
		fputc('}', f);
	} else {
		fputs(",\n  \"last_exits\": null", f);
	}
	if (res->guest_status >= 0)
		fprintf(f, ",\n  \"guest_status\": %d", res->guest_status);
	else
		fputs(",\n  \"guest_status\": null", f);
	fprintf(f, ",\n  \"wall_ms\": %.1f", res->wall_ms);
	if (res->boot_to_init_ms >= 0)
		fprintf(f, ",\n  \"boot_to_init_ms\": %.1f", res->boot_to_init_ms);
	else
		fputs(",\n  \"boot_to_init_ms\": null", f);
	fprintf(f, ",\n  \"cpus\": %d,\n  \"mem_mib\": %llu", m->cfg.cpus,
		(unsigned long long)m->cfg.mem_mib);
	fputs(",\n  \"exits\": {", f);
	for (int r = 0; r < VCPU_EXIT_REASONS; r++) {
		const char *name = vcpu_exit_name(r);

		if (!res->exits[r])
			continue;
		fprintf(f, "%s\n    ", first ? "" : ",");
		if (name)
			json_string(f, name);
		else
			fprintf(f, "\"reason_%d\"", r);
		fprintf(f, ": %llu", (unsigned long long)res->exits[r]);
		first = 0;
	}
	fprintf(f, "%s},\n  \"unclaimed_io\": %llu", first ? "" : "\n  ",
		(unsigned long long)res->unclaimed_io);
	fputs(",\n  \"monitor\": ", f);
	channel_announce_json(&m->chan, f);
	msnap_json(m, f);
	engine_report_json(m->iso, f);
	inject_report_json(m->inj, f);
	fputs("\n}\n", f);
	return ferror(f) ? -EIO : 0;
}
