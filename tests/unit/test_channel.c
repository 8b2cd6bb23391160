/* Unit tests for the VMM's end of the guest channel: registers, the
 * announcement and its validation, panic messages, init and exit events. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "test.h"
#include "vmm/channel.h"

#define GPA 0x12345f000ull

struct fixture {
	struct channel ch;
	struct chariot_shm *shm;
	int events[8];
	int nevents;
	struct channel_state seen;	/* as the callback saw it */
};

static void record(void *opaque, enum channel_event ev)
{
	struct fixture *fx = opaque;

	if (fx->nevents < 8)
		fx->events[fx->nevents++] = ev;
	channel_state(&fx->ch, &fx->seen);	/* the lock is not held */
}

static int setup(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->shm = aligned_alloc(4096, CHARIOT_SHM_SIZE);
	if (!fx->shm)
		return -ENOMEM;
	memset(fx->shm, 0xa5, CHARIOT_SHM_SIZE);
	return channel_init(&fx->ch, fx->shm, GPA, CHARIOT_SHM_SIZE, record, fx);
}

static void teardown(struct fixture *fx)
{
	channel_destroy(&fx->ch);
	free(fx->shm);
}

static uint32_t read32(struct channel *c, uint32_t off)
{
	uint8_t d[4];

	channel_io(c, off, d, 4, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static void write32(struct channel *c, uint32_t off, uint32_t v)
{
	uint8_t d[4] = { v, v >> 8, v >> 16, v >> 24 };

	channel_io(c, off, d, 4, true);
}

static void write8(struct channel *c, uint32_t off, uint8_t v)
{
	channel_io(c, off, &v, 1, true);
}

static void good_announce(struct chariot_announce *a)
{
	memset(a, 0, sizeof(*a));
	a->magic = CHARIOT_ABI_MAGIC;
	a->abi_version = CHARIOT_ABI_VERSION;
	a->size = sizeof(*a);
	a->cpus = 2;
	a->module_base = 0xffffffffc0000000ull;
	a->module_size = 0x5000;
	a->kernel_text = 0xffffffff81000000ull;
	a->kernel_etext = 0xffffffff82000000ull;
	strcpy(a->kernel_release, "6.1.0-56-amd64");
	strcpy(a->name, "chariot_monitor");
}

TEST(channel_registers)
{
	struct fixture fx;
	uint8_t b[4];

	CHECK_EQ(setup(&fx), 0);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_MAGIC), CHARIOT_ABI_MAGIC);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_VERSION), CHARIOT_ABI_VERSION);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_SHM_LO), (uint32_t)GPA);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_SHM_HI), GPA >> 32);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_SHM_SIZE), CHARIOT_SHM_SIZE);
	channel_io(&fx.ch, CHARIOT_REG_MAGIC + 3, b, 1, false);
	CHECK_EQ(b[0], CHARIOT_ABI_MAGIC >> 24);
	channel_io(&fx.ch, CHARIOT_PORT_LEN - 2, b, 4, false);
	CHECK_EQ(b[0], 0xff);
	/* The area is zeroed and carries its header. */
	CHECK_EQ(fx.shm->magic, CHARIOT_ABI_MAGIC);
	CHECK_EQ(fx.shm->version, CHARIOT_ABI_VERSION);
	CHECK_EQ(fx.shm->size, CHARIOT_SHM_SIZE);
	CHECK_EQ(fx.shm->panic_msg[0], 0);
	CHECK_EQ(((uint8_t *)fx.shm)[CHARIOT_SHM_SIZE - 1], 0);
	CHECK_EQ(fx.nevents, 0);
	teardown(&fx);
}

TEST(channel_init_checks_area)
{
	struct channel ch;
	static uint8_t small[64];

	CHECK_EQ(channel_init(&ch, small, GPA, sizeof(small), NULL, NULL),
		 -EINVAL);
	CHECK_EQ(channel_init(&ch, NULL, 0, 0, NULL, NULL), 0);
	CHECK_EQ(read32(&ch, CHARIOT_REG_SHM_SIZE), 0);
	write32(&ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_ANNOUNCE);
	channel_destroy(&ch);
}

TEST(channel_announce_accepted)
{
	struct fixture fx;
	struct channel_state st;
	char *json = NULL;
	size_t jlen = 0;
	FILE *f;

	CHECK_EQ(setup(&fx), 0);
	f = open_memstream(&json, &jlen);
	CHECK_EQ(channel_announce_json(&fx.ch, f), 0);
	fflush(f);
	CHECK(strcmp(json, "null") == 0);
	good_announce(&fx.shm->announce);
	write32(&fx.ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_ANNOUNCE);
	CHECK_EQ(fx.nevents, 1);
	CHECK_EQ(fx.events[0], CHANNEL_EV_ANNOUNCE);
	CHECK(fx.seen.announced);
	/* The kept copy is private: scribbling on the area changes nothing. */
	memset(&fx.shm->announce, 0xee, sizeof(fx.shm->announce));
	channel_state(&fx.ch, &st);
	CHECK(st.announced);
	CHECK_EQ(st.announce.cpus, 2);
	CHECK(strcmp(st.announce.name, "chariot_monitor") == 0);
	rewind(f);
	CHECK_EQ(channel_announce_json(&fx.ch, f), 0);
	fclose(f);
	CHECK(strstr(json, "\"name\": \"chariot_monitor\"") != NULL);
	CHECK(strstr(json, "\"kernel_release\": \"6.1.0-56-amd64\"") != NULL);
	CHECK(strstr(json, "\"module_base\": \"0xffffffffc0000000\"") != NULL);
	CHECK(strstr(json, "\"cpus\": 2,") != NULL);
	CHECK(json[0] == '{' && json[strlen(json) - 1] == '}');
	free(json);
	teardown(&fx);
}

static void break_magic(struct chariot_announce *a) { a->magic ^= 1; }
static void break_version(struct chariot_announce *a) { a->abi_version++; }
static void break_size(struct chariot_announce *a) { a->size -= 8; }
static void no_cpus(struct chariot_announce *a) { a->cpus = 0; }
static void user_module(struct chariot_announce *a) { a->module_base = 0x400000; }
static void huge_module(struct chariot_announce *a) { a->module_size = ~0ull; }
static void text_reversed(struct chariot_announce *a) { a->kernel_etext = a->kernel_text; }

static void release_unterminated(struct chariot_announce *a)
{
	memset(a->kernel_release, 'r', sizeof(a->kernel_release));
}

static void name_unterminated(struct chariot_announce *a)
{
	memset(a->name, 'n', sizeof(a->name));
}

static void name_unprintable(struct chariot_announce *a) { a->name[2] = '\033'; }
static void name_empty(struct chariot_announce *a) { a->name[0] = 0; }

static const struct {
	void (*mangle)(struct chariot_announce *a);
	const char *reason;
} bad_announces[] = {
	{ break_magic, "bad magic" },
	{ break_version, "wrong ABI version" },
	{ break_size, "wrong size" },
	{ no_cpus, "bad CPU count" },
	{ user_module, "bad module range" },
	{ huge_module, "bad module range" },
	{ text_reversed, "bad kernel text range" },
	{ release_unterminated, "bad kernel release" },
	{ name_unterminated, "bad name" },
	{ name_unprintable, "bad name" },
	{ name_empty, "bad name" },
};

TEST(channel_announce_rejected)
{
	size_t n = sizeof(bad_announces) / sizeof(bad_announces[0]);

	for (size_t i = 0; i < n; i++) {
		struct fixture fx;
		struct channel_state st;

		CHECK_EQ(setup(&fx), 0);
		good_announce(&fx.shm->announce);
		bad_announces[i].mangle(&fx.shm->announce);
		write8(&fx.ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_ANNOUNCE);
		channel_state(&fx.ch, &st);
		CHECK_EQ(fx.nevents, 1);
		CHECK_EQ(fx.events[0], CHANNEL_EV_ANNOUNCE_REJECTED);
		CHECK(!st.announced);
		CHECK_EQ(st.announce_rejected, 1);
		if (!st.reject_reason ||
		    strcmp(st.reject_reason, bad_announces[i].reason)) {
			fprintf(stderr, "  case %zu: reason %s\n", i,
				st.reject_reason ? st.reject_reason : "none");
			*failed = 1;
		}
		teardown(&fx);
	}
}

TEST(channel_announce_text_unknown_ok)
{
	struct chariot_announce a;

	good_announce(&a);
	a.kernel_text = 0;
	a.kernel_etext = 0;
	CHECK(channel_announce_check(&a) == NULL);
}

TEST(channel_panic_bounded)
{
	struct fixture fx;
	struct channel_state st;
	uint8_t *end;

	CHECK_EQ(setup(&fx), 0);
	/* No NUL anywhere in the message, nor after it. */
	memset(fx.shm->panic_msg, 'x', CHARIOT_PANIC_LEN);
	end = (uint8_t *)fx.shm->panic_msg + CHARIOT_PANIC_LEN;
	memset(end, 'y', (uint8_t *)fx.shm + CHARIOT_SHM_SIZE - end);
	fx.shm->panic_msg[1] = '\001';
	write32(&fx.ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_PANIC);
	channel_state(&fx.ch, &st);
	CHECK_EQ(fx.nevents, 1);
	CHECK_EQ(fx.events[0], CHANNEL_EV_PANIC);
	CHECK(st.panicked);
	CHECK_EQ(strlen(st.panic_msg), CHARIOT_PANIC_LEN - 1);
	CHECK_EQ(st.panic_msg[1], '?');
	CHECK(strchr(st.panic_msg, 'y') == NULL);
	teardown(&fx);
}

TEST(channel_init_and_exit_events)
{
	struct fixture fx;
	struct channel_state st;

	CHECK_EQ(setup(&fx), 0);
	write8(&fx.ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_INIT);
	write8(&fx.ch, CHARIOT_REG_EXIT, 3);
	channel_state(&fx.ch, &st);
	CHECK_EQ(fx.nevents, 2);
	CHECK_EQ(fx.events[0], CHANNEL_EV_INIT);
	CHECK_EQ(fx.events[1], CHANNEL_EV_EXIT);
	CHECK(st.init_seen);
	CHECK(st.init_time.tv_sec || st.init_time.tv_nsec);
	CHECK(st.exited);
	CHECK_EQ(st.exit_status, 3);
	CHECK_EQ(fx.seen.exit_status, 3);
	write32(&fx.ch, CHARIOT_REG_EXIT, 0x1ff);
	channel_state(&fx.ch, &st);
	CHECK_EQ(st.exit_status, 0xff);
	teardown(&fx);
}

TEST(channel_bad_accesses_ignored)
{
	struct fixture fx;
	struct channel_state st;
	uint8_t d[2] = { CHARIOT_CMD_INIT, 0 };

	CHECK_EQ(setup(&fx), 0);
	write32(&fx.ch, CHARIOT_REG_DOORBELL, 99);	/* no such command */
	write32(&fx.ch, CHARIOT_REG_DOORBELL, 0x100 | CHARIOT_CMD_INIT);
	channel_io(&fx.ch, CHARIOT_REG_DOORBELL, d, 2, true);	/* 16 bits */
	write32(&fx.ch, CHARIOT_REG_MAGIC, 0);			/* read-only */
	write8(&fx.ch, CHARIOT_PORT_LEN, 1);			/* outside */
	channel_state(&fx.ch, &st);
	CHECK_EQ(fx.nevents, 0);
	CHECK_EQ(st.bad_accesses, 5);
	CHECK_EQ(read32(&fx.ch, CHARIOT_REG_MAGIC), CHARIOT_ABI_MAGIC);
	teardown(&fx);
}

TEST(channel_poweroff_event)
{
	struct fixture fx;

	CHECK_EQ(setup(&fx), 0);
	write8(&fx.ch, CHARIOT_REG_DOORBELL, CHARIOT_CMD_POWEROFF);
	CHECK_EQ(fx.nevents, 1);
	CHECK_EQ(fx.events[0], CHANNEL_EV_POWEROFF);
	teardown(&fx);
}
