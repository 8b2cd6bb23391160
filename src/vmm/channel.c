/* channel.c - the VMM's end of the Chariot guest <-> VMM interface.
 *
 * The registers are a little-endian image answered byte by byte, so any
 * read width or alignment inside the range gets consistent bytes.  Writes
 * are commands: the doorbell (8 or 32 bits) and the exit register.  What
 * the guest left in shared memory is copied out once, under the lock, and
 * only the private copy is validated and kept: the guest may rewrite the
 * area from another vCPU at any moment. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/channel.h"

#define KERNEL_HALF	0xffff800000000000ull	/* lowest kernel address */
#define MAX_CPUS	4096u
#define MAX_MODULE_SIZE	(1ull << 30)
#define NO_EVENT	(-1)

int channel_init(struct channel *c, void *shm, uint64_t gpa, uint64_t size,
		 void (*on_event)(void *opaque, enum channel_event ev),
		 void *opaque)
{
	struct chariot_shm hdr = {
		.magic = CHARIOT_ABI_MAGIC,
		.version = CHARIOT_ABI_VERSION,
		.size = (uint32_t)size,
	};
	int err;

	if (shm && (size < sizeof(hdr) || size > UINT32_MAX || !gpa))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	err = pthread_mutex_init(&c->lock, NULL);
	if (err)
		return -err;
	c->on_event = on_event;
	c->opaque = opaque;
	if (shm) {
		c->shm = shm;
		c->shm_gpa = gpa;
		c->shm_size = (uint32_t)size;
		memset(shm, 0, size);
		memcpy(shm, &hdr, sizeof(hdr));
	}
	return 0;
}

void channel_destroy(struct channel *c)
{
	pthread_mutex_destroy(&c->lock);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Fixed once channel_init() returns: read without the lock. */
static void read_regs(const struct channel *c, uint64_t off, uint8_t *data,
		      uint32_t len)
{
	uint8_t img[CHARIOT_PORT_LEN] = { 0 };

	put32(img + CHARIOT_REG_MAGIC, CHARIOT_ABI_MAGIC);
	put32(img + CHARIOT_REG_VERSION, CHARIOT_ABI_VERSION);
	put32(img + CHARIOT_REG_SHM_LO, (uint32_t)c->shm_gpa);
	put32(img + CHARIOT_REG_SHM_HI, (uint32_t)(c->shm_gpa >> 32));
	put32(img + CHARIOT_REG_SHM_SIZE, c->shm_size);
	memcpy(data, img + off, len);
}

static bool kernel_range(uint64_t base, uint64_t size)
{
	return base >= KERNEL_HALF && size <= ~0ull - base;
}

/* A non-empty printable string NUL-terminated within its n-byte field. */
static bool field_string_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return i > 0 && i < n;
}

const char *channel_announce_check(const struct chariot_announce *a)
{
	if (a->magic != CHARIOT_ABI_MAGIC)
		return "bad magic";
	if (a->abi_version != CHARIOT_ABI_VERSION)
		return "wrong ABI version";
	if (a->size != sizeof(*a))
		return "wrong size";
	if (a->cpus == 0 || a->cpus > MAX_CPUS)
		return "bad CPU count";
	if (a->module_size == 0 || a->module_size > MAX_MODULE_SIZE ||
	    !kernel_range(a->module_base, a->module_size))
		return "bad module range";
	if ((a->kernel_text || a->kernel_etext) &&
	    (a->kernel_etext <= a->kernel_text ||
	     !kernel_range(a->kernel_text, a->kernel_etext - a->kernel_text)))
		return "bad kernel text range";
	if (!field_string_ok(a->kernel_release, sizeof(a->kernel_release)))
		return "bad kernel release";
	if (!field_string_ok(a->name, sizeof(a->name)))
		return "bad name";
	return NULL;
}

static int do_announce(struct channel *c)
{
	struct chariot_announce a;
	const char *reason;

	if (!c->shm)
		return NO_EVENT;
	memcpy(&a, c->shm + offsetof(struct chariot_shm, announce), sizeof(a));
	reason = channel_announce_check(&a);
	if (reason) {
		c->st.announce_rejected++;
		c->st.reject_reason = reason;
		return CHANNEL_EV_ANNOUNCE_REJECTED;
	}
	c->st.announce = a;
	c->st.announced = true;
	return CHANNEL_EV_ANNOUNCE;
}

/* Copied bounded, cut at the first NUL, anything unprintable made '?'. */
static int do_panic(struct channel *c)
{
	char *msg = c->st.panic_msg;

	memset(msg, 0, CHARIOT_PANIC_LEN);
	if (c->shm)
		memcpy(msg, c->shm + offsetof(struct chariot_shm, panic_msg),
		       CHARIOT_PANIC_LEN - 1);
	for (char *s = msg; *s; s++)
		if ((*s < 0x20 || *s > 0x7e) && *s != '\n' && *s != '\t')
			*s = '?';
	c->st.panicked = true;
	return CHANNEL_EV_PANIC;
}

static int doorbell(struct channel *c, uint32_t cmd)
{
	switch (cmd) {
	case CHARIOT_CMD_ANNOUNCE:
		return do_announce(c);
	case CHARIOT_CMD_PANIC:
		return do_panic(c);
	case CHARIOT_CMD_INIT:
		clock_gettime(CLOCK_MONOTONIC, &c->st.init_time);
		c->st.init_seen = true;
		return CHANNEL_EV_INIT;
	case CHARIOT_CMD_POWEROFF:
		return CHANNEL_EV_POWEROFF;
	default:
		c->st.bad_accesses++;
		return NO_EVENT;
	}
}

static int write_reg(struct channel *c, uint64_t off, const uint8_t *data,
		     uint32_t len)
{
	uint32_t v;

	if (len != 1 && len != 4) {
		c->st.bad_accesses++;
		return NO_EVENT;
	}
	v = data[0];
	if (len == 4)
		v |= (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		     (uint32_t)data[3] << 24;
	if (off == CHARIOT_REG_DOORBELL)
		return doorbell(c, v);
	if (off == CHARIOT_REG_EXIT) {
		c->st.exit_status = (uint8_t)v;
		c->st.exited = true;
		return CHANNEL_EV_EXIT;
	}
	c->st.bad_accesses++;
	return NO_EVENT;
}

void channel_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct channel *c = opaque;
	bool in_range = off < CHARIOT_PORT_LEN && len &&
			len <= CHARIOT_PORT_LEN - off;
	int ev = NO_EVENT;

	if (!is_write) {
		if (in_range)
			read_regs(c, off, data, len);
		else
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (in_range)
		ev = write_reg(c, off, data, len);
	else
		c->st.bad_accesses++;
	pthread_mutex_unlock(&c->lock);
	if (ev != NO_EVENT && c->on_event)
		c->on_event(c->opaque, (enum channel_event)ev);
}

void channel_state(struct channel *c, struct channel_state *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int channel_announce_json(const struct channel *c, FILE *f)
{
	struct channel_state st;
	const struct chariot_announce *a = &st.announce;

	/* Only the lock is written: c itself is never a const object. */
	channel_state((struct channel *)c, &st);
	if (!st.announced) {
		fputs("null", f);
		return ferror(f) ? -EIO : 0;
	}
	fputs("{\"name\": ", f);
	json_string(f, a->name);
	fputs(", \"kernel_release\": ", f);
	json_string(f, a->kernel_release);
	fprintf(f, ", \"abi_version\": %u, \"cpus\": %u, "
		"\"module_base\": \"0x%llx\", \"module_size\": %llu, "
		"\"kernel_text\": \"0x%llx\", \"kernel_etext\": \"0x%llx\"}",
		a->abi_version, a->cpus, (unsigned long long)a->module_base,
		(unsigned long long)a->module_size,
		(unsigned long long)a->kernel_text,
		(unsigned long long)a->kernel_etext);
	return ferror(f) ? -EIO : 0;
}
