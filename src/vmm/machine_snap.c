/* machine_snap.c - --snapshot for a whole machine: which configuration a
 * snapshot is for, pausing every vCPU when init starts to save one, and
 * bringing a new machine to that point from it instead of booting.
 *
 * Why init's start: every run of a campaign is the same guest until then
 * (the fault is injected when the driver loads, after it), no virtio
 * device has been touched yet (chariot_mmio registers them later), so the
 * devices hold no guest state, and neither does the isolation engine (the
 * monitor loads after it).  What must be kept is KVM's (chips, clock,
 * vCPUs), the UART and RTC registers the boot programmed, and RAM. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_mmio.h"
#include "vmm/json.h"
#include "vmm/machine_snap.h"
#include "vmm/snapshot.h"

/* The device blob. */
struct dev_state {
	struct serial_snap serial;
	struct rtc_snap rtc;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* path's size and modification time: a rebuilt kernel, initramfs or VMM
 * makes the snapshot stale. */
static void file_id(char *buf, size_t len, const char *path)
{
	struct stat st;

	if (!path || stat(path, &st))
		snprintf(buf, len, "%s:missing", path ? path : "-");
	else
		snprintf(buf, len, "%s:%lld:%lld.%09ld", path, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static int set_key(struct machine *m, const char *cmdline, const uint8_t *cpio,
		   size_t cpio_len)
{
	char exe[4096 + 64], kernel[4096 + 64], initrd[4096 + 64];
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *key = malloc(SNAP_KEY_MAX);
	int w;

	if (!key)
		return -ENOMEM;
	self[n > 0 ? n : 0] = '\0';
	file_id(exe, sizeof(exe), self);
	file_id(kernel, sizeof(kernel), m->cfg.kernel);
	file_id(initrd, sizeof(initrd), m->cfg.initrd);
	w = snprintf(key, SNAP_KEY_MAX,
		     "vmm=%s kernel=%s initrd=%s mem=%llu cpus=%d command=%016llx "
		     "cmdline=%s", exe, kernel, initrd,
		     (unsigned long long)m->cfg.mem_mib, m->cfg.cpus,
		     (unsigned long long)snap_fnv(SNAP_FNV_INIT, cpio, cpio_len), cmdline);
	if (w < 0 || w >= SNAP_KEY_MAX) {
		free(key);
		return -E2BIG;
	}
	m->snap_key = key;
	return 0;
}

static int dir_writable(const char *path)
{
	char *copy = strdup(path);
	int r;

	if (!copy)
		return -ENOMEM;
	r = access(dirname(copy), W_OK) ? -errno : 0;
	free(copy);
	return r;
}

int msnap_prepare(struct machine *m, const char *cmdline, const uint8_t *cpio,
		  size_t cpio_len, char *err, size_t errlen)
{
	const char *path = m->cfg.snapshot;
	char why[256] = "";
	int r, st;

	if (!path)
		return 0;
	r = set_key(m, cmdline, cpio, cpio_len);
	if (r) {
		snprintf(err, errlen, "--snapshot: %s", strerror(-r));
		return r;
	}
	st = snap_probe(path, m->snap_key, (uint32_t)m->cfg.cpus,
			m->cfg.mem_mib << 20, why, sizeof(why));
	if (st < 0) {
		snprintf(err, errlen, "bad input: --snapshot: %s%s", why,
			 st == -EINVAL ? " (left as it is)" : "");
		return st;
	}
	if (st == SNAP_MATCH) {
		m->snap.action = SNAP_RESTORED;
		return 1;
	}
	r = dir_writable(path);
	if (r) {
		snprintf(err, errlen, "bad input: --snapshot %s: cannot write "
			 "there: %s", path, strerror(-r));
		return r;
	}
	m->snap.action = SNAP_SAVING;
	if (st == SNAP_STALE)
		snprintf(m->snap.why, sizeof(m->snap.why),
			 "%s was for another configuration: replaced", path);
	return 0;
}

/* CHARIOT_SNAPSHOT_RAM=map maps RAM from the file instead of copying it
 * (bench/snapshot compares the two). */
static bool ram_mapped(void)
{
	const char *how = getenv("CHARIOT_SNAPSHOT_RAM");

	return how && !strcmp(how, "map");
}

int msnap_restore(struct machine *m, char *err, size_t errlen)
{
	struct snapshot s;
	struct dev_state d;
	double t0 = now_ms();
	char why[320] = "";
	int r = snap_alloc(&s, (uint32_t)m->ncpus);

	if (r)
		return r;
	r = snap_read(m->cfg.snapshot, &s, &m->vm.mem, ram_mapped(), why,
		      sizeof(why));
	if (!r && s.dev_len != sizeof(d)) {
		snprintf(why, sizeof(why), "%s: device state of another size",
			 m->cfg.snapshot);
		r = -EINVAL;
	}
	for (int i = 0; !r && i < m->ncpus; i++)
		r = snap_load_cpu(m->cpus[i].fd, &s.cpu[i], why, sizeof(why));
	if (!r) {
		r = snap_load_vm(m->vm.vm_fd, &s.vm);
		if (r)
			snprintf(why, sizeof(why), "restoring the interrupt "
				 "controllers and clock: %s", strerror(-r));
	}
	if (!r) {
		memcpy(&d, s.dev, sizeof(d));
		serial_snap_load(&m->serial, &d.serial);
		rtc_snap_load(&m->rtc, &d.rtc);
		m->snap.ram_bytes = s.ram_bytes;
		m->snap.ms = now_ms() - t0;
	}
	snap_free(&s);
	if (r)
		snprintf(err, errlen, "--snapshot: %s", why);
	return r;
}

/* Ask every vCPU to park: the flag first, then the kick (a thread that
 * returns from KVM_RUN for another reason also sees the flag). */
static void pause_all(struct machine *m)
{
	m->pause = 1;
	for (int i = 0; i < m->ncpus; i++)
		machine_kick_vcpu(m, (unsigned int)i);
}

void msnap_init_started(struct machine *m)
{
	pthread_mutex_lock(&m->park_lock);
	if (m->snap.action == SNAP_SAVING && !m->pause)
		pause_all(m);
	pthread_mutex_unlock(&m->park_lock);
}

/* With every vCPU parked, its last exit completed. */
static int save(struct machine *m, char *why, size_t len)
{
	struct snapshot s;
	struct dev_state d;
	int r;

	for (int i = 0; i < m->nvirtio; i++)
		if (!virtio_mmio_untouched(m->virtio[i].transport)) {
			snprintf(why, len, "virtio device %d was set up before "
				 "init started: not saved", i);
			return -EBUSY;
		}
	r = snap_alloc(&s, (uint32_t)m->ncpus);
	if (r)
		return r;
	snprintf(s.key, sizeof(s.key), "%s", m->snap_key);
	for (int i = 0; !r && i < m->ncpus; i++)
		r = snap_save_cpu(m->vm.kvm_fd, m->cpus[i].fd, &s.cpu[i], why, len);
	if (!r) {
		r = snap_save_vm(m->vm.vm_fd, &s.vm);
		if (r)
			snprintf(why, len, "saving the interrupt controllers "
				 "and clock: %s", strerror(-r));
	}
	if (!r) {
		memset(&d, 0, sizeof(d));
		serial_snap_save(&m->serial, &d.serial);
		rtc_snap_save(&m->rtc, &d.rtc);
		memcpy(s.dev, &d, sizeof(d));
		s.dev_len = sizeof(d);
		r = snap_write(m->cfg.snapshot, &s, &m->vm.mem, why, len);
		m->snap.ram_bytes = s.ram_bytes;
	}
	snap_free(&s);
	return r;
}

void msnap_park(struct machine *m)
{
	struct timespec dl;
	unsigned int gen;

	pthread_mutex_lock(&m->park_lock);
	gen = m->pause_gen;
	if (++m->parked == m->ncpus) {
		double t0 = now_ms();
		char why[300] = "";

		m->snap.action = save(m, why, sizeof(why)) ? SNAP_SAVE_FAILED
							   : SNAP_SAVED;
		m->snap.ms = now_ms() - t0;
		if (m->snap.action == SNAP_SAVE_FAILED)
			snprintf(m->snap.why, sizeof(m->snap.why), "%s", why);
		m->pause = 0;
		m->parked = 0;
		m->pause_gen++;
		pthread_cond_broadcast(&m->park_cv);
	}
	/* A machine that ends meanwhile stops its vCPUs without resuming. */
	while (m->pause_gen == gen && !m->stopping) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 100 * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->park_cv, &m->park_lock, &dl);
	}
	pthread_mutex_unlock(&m->park_lock);
}

void msnap_json(const struct machine *m, FILE *f)
{
	static const char *const names[] = {
		[SNAP_NONE] = "none", [SNAP_SAVING] = "not-saved",
		[SNAP_SAVED] = "saved", [SNAP_SAVE_FAILED] = "save-failed",
		[SNAP_RESTORED] = "restored",
	};

	fputs(",\n  \"snapshot\": ", f);
	if (m->snap.action == SNAP_NONE) {
		fputs("null", f);
		return;
	}
	fputs("{\"file\": ", f);
	json_string(f, m->cfg.snapshot);
	fputs(", \"action\": ", f);
	json_string(f, names[m->snap.action]);
	fprintf(f, ", \"ms\": %.1f, \"ram_bytes\": %llu, \"note\": ", m->snap.ms,
		(unsigned long long)m->snap.ram_bytes);
	json_string(f, m->snap.why);
	fputc('}', f);
}
