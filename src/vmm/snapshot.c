/* snapshot.c - saving a stopped guest to a file and restoring it
 * (snapshot.h).  The order of the restore ioctls follows what KVM needs:
 * SREGS (the APIC base) before the LAPIC, the LAPIC before the
 * TSC-deadline MSR (KVM ignores a deadline while the timer is in another
 * mode), the TSC and clock before anything runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/errmsg.h"
#include "vmm/snapshot.h"

#define SNAP_MAGIC	"CHARSNP1"
#define SNAP_VERSION	2u
#define RAM_ALIGN	(2ull << 20)
#define RAM_CHUNK	(64u << 10)	/* zero test and write unit */
#define MSR_TSC_DEADLINE 0x6e0u

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t ncpus;
	uint64_t mem_size;
	uint64_t ram_off;	/* file offset of RAM */
	uint64_t ram_bytes;	/* non-zero bytes written there */
	uint32_t dev_len;
	uint32_t cpu_size;	/* sizeof(struct snap_cpu) of the writer */
	uint64_t state_sum;	/* FNV-1a of vm, cpus, device blob, chunk map */
	uint64_t map_off;	/* file offset of the chunk map */
	char key[SNAP_KEY_MAX];
};

uint64_t snap_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* One bit per RAM_CHUNK of RAM: set when the chunk is in the file.  Read
 * back by it, not by SEEK_DATA, which some file systems (9p) lack. */
static size_t map_len(uint64_t mem_size)
{
	return (size_t)((mem_size / RAM_CHUNK + 7) / 8);
}

static uint64_t state_sum(const struct snapshot *s, const uint8_t *map,
			  size_t maplen)
{
	uint64_t h = SNAP_FNV_INIT;

	h = snap_fnv(h, &s->vm, sizeof(s->vm));
	h = snap_fnv(h, s->cpu, sizeof(*s->cpu) * s->ncpus);
	h = snap_fnv(h, s->dev, s->dev_len);
	return snap_fnv(h, map, maplen);
}

int snap_alloc(struct snapshot *s, uint32_t ncpus)
{
	memset(s, 0, sizeof(*s));
	s->cpu = calloc(ncpus ? ncpus : 1, sizeof(*s->cpu));
	if (!s->cpu)
		return -ENOMEM;
	s->ncpus = ncpus;
	return 0;
}

void snap_free(struct snapshot *s)
{
	free(s->cpu);
	s->cpu = NULL;
}

/* ------------------------------------------------------------------ */
/* KVM state                                                           */

int snap_save_vm(int vm_fd, struct snap_vm *v)
{
	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < 3; i++) {
		v->chip[i].chip_id = i;
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &v->chip[i]) < 0)
			return -errno;
	}
	if (ioctl(vm_fd, KVM_GET_PIT2, &v->pit) < 0 ||
	    ioctl(vm_fd, KVM_GET_CLOCK, &v->clock) < 0)
		return -errno;
	return 0;
}

int snap_load_vm(int vm_fd, const struct snap_vm *v)
{
	struct kvm_clock_data clock = { .clock = v->clock.clock };

	for (int i = 0; i < 3; i++)
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &v->chip[i]) < 0)
			return -errno;
	if (ioctl(vm_fd, KVM_SET_PIT2, &v->pit) < 0 ||
	    ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return -errno;
	return 0;
}

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
};

/* The MSRs KVM says a VMM should save, each read alone: one it refuses
 * for this vCPU (a feature the CPUID does not give) is left out. */
static int save_msrs(int kvm_fd, int vcpu_fd, struct snap_cpu *c,
		     char *err, size_t errlen)
{
	size_t sz = sizeof(struct kvm_msr_list) + SNAP_MAX_MSRS * sizeof(uint32_t);
	struct kvm_msr_list *l = calloc(1, sz);
	int r = 0;

	if (!l)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	l->nmsrs = SNAP_MAX_MSRS;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		r = errmsg(err, errlen, -errno, "KVM_GET_MSR_INDEX_LIST: %s",
			 strerror(errno));
		goto out;
	}
	c->nmsrs = 0;
	for (uint32_t i = 0; i < l->nmsrs; i++) {
		struct one_msr m = { .hdr.nmsrs = 1, .e.index = l->indices[i] };

		if (ioctl(vcpu_fd, KVM_GET_MSRS, &m) == 1)
			c->msrs[c->nmsrs++] = m.e;
	}
out:
	free(l);
	return r;
}

int snap_save_cpu(int kvm_fd, int vcpu_fd, struct snap_cpu *c,
		  char *err, size_t errlen)
{
	static const struct { unsigned long req; size_t off; const char *name; } get[] = {
		{ KVM_GET_REGS, offsetof(struct snap_cpu, regs), "KVM_GET_REGS" },
		{ KVM_GET_SREGS, offsetof(struct snap_cpu, sregs), "KVM_GET_SREGS" },
		{ KVM_GET_XSAVE, offsetof(struct snap_cpu, xsave), "KVM_GET_XSAVE" },
		{ KVM_GET_XCRS, offsetof(struct snap_cpu, xcrs), "KVM_GET_XCRS" },
		{ KVM_GET_LAPIC, offsetof(struct snap_cpu, lapic), "KVM_GET_LAPIC" },
		{ KVM_GET_VCPU_EVENTS, offsetof(struct snap_cpu, events), "KVM_GET_VCPU_EVENTS" },
		{ KVM_GET_MP_STATE, offsetof(struct snap_cpu, mp), "KVM_GET_MP_STATE" },
		{ KVM_GET_DEBUGREGS, offsetof(struct snap_cpu, dregs), "KVM_GET_DEBUGREGS" },
	};

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(get) / sizeof(get[0]); i++)
		if (ioctl(vcpu_fd, get[i].req, (char *)c + get[i].off) < 0)
			return errmsg(err, errlen, -errno, "%s: %s", get[i].name,
				    strerror(errno));
	return save_msrs(kvm_fd, vcpu_fd, c, err, errlen);
}

/* Set the saved MSRs, the TSC deadline (deadline true) or all others. */
static int load_msrs(int vcpu_fd, const struct snap_cpu *c, int deadline,
		     char *err, size_t errlen)
{
	for (uint32_t i = 0; i < c->nmsrs && i < SNAP_MAX_MSRS; i++) {
		struct one_msr m = { .hdr.nmsrs = 1, .e = c->msrs[i] };

		if ((m.e.index == MSR_TSC_DEADLINE) != !!deadline)
			continue;
		if (ioctl(vcpu_fd, KVM_SET_MSRS, &m) != 1)
			return errmsg(err, errlen, -EINVAL,
				    "KVM_SET_MSRS refused MSR 0x%x", m.e.index);
	}
	return 0;
}

int snap_load_cpu(int vcpu_fd, const struct snap_cpu *c, char *err,
		  size_t errlen)
{
	struct kvm_vcpu_events ev = c->events;
	int r;

#define SET(req, field) \
	do { \
		if (ioctl(vcpu_fd, req, field) < 0) \
			return errmsg(err, errlen, -errno, #req ": %s", \
				    strerror(errno)); \
	} while (0)
	SET(KVM_SET_REGS, &c->regs);
	SET(KVM_SET_XSAVE, &c->xsave);
	SET(KVM_SET_XCRS, &c->xcrs);
	SET(KVM_SET_SREGS, &c->sregs);
	r = load_msrs(vcpu_fd, c, 0, err, errlen);
	if (r)
		return r;
	SET(KVM_SET_MP_STATE, &c->mp);
	SET(KVM_SET_LAPIC, &c->lapic);
	r = load_msrs(vcpu_fd, c, 1, err, errlen);
	if (r)
		return r;
	/* GET fills these fields without flagging them all valid. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
		    KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	SET(KVM_SET_VCPU_EVENTS, &ev);
	SET(KVM_SET_DEBUGREGS, &c->dregs);
#undef SET
	return 0;
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* 0 with n bytes read, or -EIO when the file ends first. */
static int read_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < n / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

static uint64_t state_off(void)
{
	return sizeof(struct snap_header);
}

/* Header, state, chunk map, the RAM chunks that are not all zero, the
 * full length (the rest are holes). */
static int write_file(int fd, struct snapshot *s, const struct guest_mem *mem,
		      uint8_t *map)
{
	uint64_t cpus = sizeof(*s->cpu) * s->ncpus;
	uint64_t map_off = state_off() + sizeof(s->vm) + cpus + s->dev_len;
	size_t maplen = map_len(mem->size);
	struct snap_header h = {
		.version = SNAP_VERSION, .ncpus = s->ncpus,
		.mem_size = mem->size,
		.ram_off = (map_off + maplen + RAM_ALIGN - 1) & ~(RAM_ALIGN - 1),
		.dev_len = s->dev_len, .cpu_size = sizeof(*s->cpu),
		.map_off = map_off,
	};
	int r;

	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	snprintf(h.key, sizeof(h.key), "%s", s->key);
	s->ram_bytes = 0;
	for (uint64_t off = 0; off < mem->size; off += RAM_CHUNK) {
		size_t n = mem->size - off < RAM_CHUNK ? mem->size - off : RAM_CHUNK;

		if (all_zero(mem->host + off, n))
			continue;
		r = write_all(fd, mem->host + off, n, h.ram_off + off);
		if (r)
			return r;
		map[off / RAM_CHUNK / 8] |= (uint8_t)(1u << (off / RAM_CHUNK % 8));
		s->ram_bytes += n;
	}
	h.ram_bytes = s->ram_bytes;
	h.state_sum = state_sum(s, map, maplen);
	if (ftruncate(fd, (off_t)(h.ram_off + mem->size)))
		return -errno;
	r = write_all(fd, &s->vm, sizeof(s->vm), state_off());
	if (!r)
		r = write_all(fd, s->cpu, cpus, state_off() + sizeof(s->vm));
	if (!r)
		r = write_all(fd, s->dev, s->dev_len,
			      state_off() + sizeof(s->vm) + cpus);
	if (!r)
		r = write_all(fd, map, maplen, map_off);
	/* The header last: a file cut short has no valid one. */
	if (!r)
		r = write_all(fd, &h, sizeof(h), 0);
	return r;
}

int snap_write(const char *path, struct snapshot *s,
	       const struct guest_mem *mem, char *err, size_t errlen)
{
	char tmp[4096];
	uint8_t *map;
	int fd, r;

	if (s->dev_len > SNAP_DEV_MAX)
		return errmsg(err, errlen, -EINVAL, "device state too large");
	map = calloc(1, map_len(mem->size) + 1);
	if (!map)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return errmsg(err, errlen, -ENAMETOOLONG, "%s: name too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(map);
		return errmsg(err, errlen, -errno, "cannot create %s: %s", tmp,
			    strerror(errno));
	}
	r = write_file(fd, s, mem, map);
	free(map);
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return errmsg(err, errlen, r, "cannot write %s: %s", path,
			    strerror(-r));
	}
	return 0;
}

static int read_header(int fd, const char *path, struct snap_header *h,
		       char *err, size_t errlen)
{
	int r = read_all(fd, h, sizeof(*h), 0);

	if (r == -EIO || (!r && memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic))))
		return errmsg(err, errlen, -EINVAL, "%s is not a Chariot snapshot",
			    path);
	if (r)
		return errmsg(err, errlen, r, "cannot read %s: %s", path,
			    strerror(-r));
	h->key[SNAP_KEY_MAX - 1] = '\0';
	return 0;
}

int snap_probe(const char *path, const char *key, uint32_t ncpus,
	       uint64_t mem_size, char *err, size_t errlen)
{
	struct snap_header *h = malloc(sizeof(*h));
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (!h) {
		if (fd >= 0)
			close(fd);
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	if (fd < 0) {
		free(h);
		if (errno == ENOENT)
			return SNAP_ABSENT;
		return errmsg(err, errlen, -errno, "cannot open %s: %s", path,
			    strerror(errno));
	}
	r = read_header(fd, path, h, err, errlen);
	if (!r)
		r = h->version == SNAP_VERSION &&
		    h->cpu_size == sizeof(struct snap_cpu) &&
		    h->ncpus == ncpus && h->mem_size == mem_size &&
		    !strcmp(h->key, key) ? SNAP_MATCH : SNAP_STALE;
	close(fd);
	free(h);
	return r;
}

/* Extent [d, e) of the file into RAM: copied into the VMM's anonymous
 * memory (huge pages stay possible), or with map, mapped copy-on-write
 * over it (nothing read until the guest touches it, 4 KiB pages). */
static int load_extent(int fd, const struct snap_header *h,
		       struct guest_mem *mem, uint64_t d, uint64_t e, bool map)
{
	uint8_t *at = mem->host + (d - h->ram_off);

	if (!map)
		return read_all(fd, at, (size_t)(e - d), d);
	if (mmap(at, (size_t)(e - d), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, (off_t)d) == MAP_FAILED)
		return -errno;
	return 0;
}

/* The chunks the map has, each run of adjacent ones at once (holes stay
 * the zeros mem has). */
static int read_ram(int fd, const struct snap_header *h, const uint8_t *map,
		    struct guest_mem *mem, bool map_ram)
{
	uint64_t n = h->mem_size / RAM_CHUNK + (h->mem_size % RAM_CHUNK != 0);

	for (uint64_t i = 0; i < n;) {
		uint64_t j = i, d, e;
		int r;

		if (!(map[i / 8] & (1u << (i % 8)))) {
			i++;
			continue;
		}
		while (j < n && (map[j / 8] & (1u << (j % 8))))
			j++;
		d = i * RAM_CHUNK;
		e = j * RAM_CHUNK < h->mem_size ? j * RAM_CHUNK : h->mem_size;
		r = load_extent(fd, h, mem, h->ram_off + d, h->ram_off + e, map_ram);
		if (r)
			return r;
		i = j;
	}
	return 0;
}

int snap_read(const char *path, struct snapshot *s, struct guest_mem *mem,
	      bool map, char *err, size_t errlen)
{
	struct snap_header *h = malloc(sizeof(*h));
	uint64_t cpus = sizeof(*s->cpu) * s->ncpus;
	size_t maplen = map_len(mem->size);
	uint8_t *ram_map = calloc(1, maplen + 1);
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (!h || !ram_map || fd < 0) {
		r = h && ram_map ? -errno : -ENOMEM;
		errmsg(err, errlen, r, "cannot open %s: %s", path, strerror(-r));
		goto out;
	}
	r = read_header(fd, path, h, err, errlen);
	if (r)
		goto out;
	r = -EINVAL;
	if (h->ncpus != s->ncpus || h->mem_size != mem->size ||
	    h->dev_len > SNAP_DEV_MAX || fstat(fd, &st) ||
	    (uint64_t)st.st_size != h->ram_off + h->mem_size ||
	    h->map_off + maplen > h->ram_off || h->ram_off % RAM_ALIGN) {
		errmsg(err, errlen, r, "%s is truncated or corrupt", path);
		goto out;
	}
	s->dev_len = h->dev_len;
	if (read_all(fd, &s->vm, sizeof(s->vm), state_off()) ||
	    read_all(fd, s->cpu, cpus, state_off() + sizeof(s->vm)) ||
	    read_all(fd, s->dev, s->dev_len, state_off() + sizeof(s->vm) + cpus) ||
	    read_all(fd, ram_map, maplen, h->map_off) ||
	    state_sum(s, ram_map, maplen) != h->state_sum) {
		errmsg(err, errlen, r, "%s is truncated or corrupt", path);
		goto out;
	}
	snprintf(s->key, sizeof(s->key), "%s", h->key);
	s->ram_bytes = h->ram_bytes;
	r = read_ram(fd, h, ram_map, mem, map);
	if (r)
		errmsg(err, errlen, r, "cannot read the RAM of %s: %s", path,
		     strerror(-r));
out:
	if (fd >= 0)
		close(fd);
	free(ram_map);
	free(h);
	return r;
}
