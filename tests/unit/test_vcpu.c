/* Unit tests for a vCPU's exit history (what a triple fault is reported
 * with): oldest first, the last VCPU_HISTORY only, bounded output; and
 * for the registers a recovery redirect keeps on the guest's stack. */
#include <errno.h>
#include <stdlib.h>

#include "test.h"
#include "vmm/vcpu.h"

static struct vcpu *with_exits(unsigned int n)
{
	struct vcpu *c = calloc(1, sizeof(*c));

	for (unsigned int i = 0; c && i < n; i++) {
		struct vcpu_exit *x = &c->hist[c->nhist++ % VCPU_HISTORY];

		*x = (struct vcpu_exit){ .reason = KVM_EXIT_IO, .addr = i };
	}
	return c;
}

TEST(vcpu_history_names_each_exit)
{
	struct vcpu *c = with_exits(0);
	char buf[512];

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(vcpu_history(c, buf, sizeof(buf)), 0);
	CHECK_EQ(buf[0], '\0');
	c->hist[0] = (struct vcpu_exit){ .reason = KVM_EXIT_MMIO,
		.write = true, .addr = 0x1234000, .rip = 0xffffffffc0001234ull,
		.view = 2 };
	c->hist[1] = (struct vcpu_exit){ .reason = KVM_EXIT_IO,
		.addr = 0x3f8, .write = true, .view = 1 };
	c->hist[2] = (struct vcpu_exit){ .reason = KVM_EXIT_IO,
		.addr = 0x5d4, .write = true, .view = 1, .edits = 3 };
	c->hist[3] = (struct vcpu_exit){ .reason = KVM_EXIT_HLT };
	c->hist[4] = (struct vcpu_exit){ .reason = 99 };
	c->nhist = 5;
	vcpu_history(c, buf, sizeof(buf));
	CHECK(!strcmp(buf, "mmio w 0x1234000 rip 0xffffffffc0001234 "
		      "protected, io w 0x3f8 normal, io w 0x5d4 normal +3 edits, "
		      "hlt, exit 99"));
	free(c);
}

TEST(vcpu_history_keeps_the_last_oldest_first)
{
	struct vcpu *c = with_exits(VCPU_HISTORY + 6);
	char buf[2048], want[64];

	CHECK(c != NULL);
	if (!c)
		return;
	vcpu_history(c, buf, sizeof(buf));
	snprintf(want, sizeof(want), "io r 0x6, io r 0x7,");
	CHECK(!strncmp(buf, want, strlen(want)));
	snprintf(want, sizeof(want), ", io r 0x%x", VCPU_HISTORY + 5);
	CHECK(strlen(buf) > strlen(want) &&
	      !strcmp(buf + strlen(buf) - strlen(want), want));
	CHECK(strstr(buf, "io r 0x5,") == NULL);
	free(c);
}

TEST(vcpu_history_fits_a_small_buffer)
{
	struct vcpu *c = with_exits(VCPU_HISTORY);
	char buf[20];

	CHECK(c != NULL);
	if (!c)
		return;
	memset(buf, 'x', sizeof(buf));
	CHECK(vcpu_history(c, buf, sizeof(buf)) < sizeof(buf));
	CHECK_EQ(buf[sizeof(buf) - 1], '\0');
	CHECK(!strncmp(buf, "io r 0x0, io r 0x1,", 19));
	CHECK_EQ(vcpu_history(c, buf, 0), 0);
	free(c);
}

/* A guest of 64 KiB whose tables at cr3 0x1000 map two stack pages, gva
 * STACK and STACK + 4 KiB, to frames 0x9000 and 0x6000 (not adjacent),
 * and nothing below STACK. */
#define GUEST	0x10000ull			/* its RAM */
#define STACK	0xffffc90000010000ull
#define P	0x3ull				/* present, writable */

/* The guest over ram (GUEST bytes), its tables written. */
static void stack_guest(uint64_t *ram, struct guest_mem *mem)
{
	uint64_t *t = ram;	/* as quadwords: index = gpa / 8 */

	guest_mem_wrap(mem, ram, GUEST);

	t[0x1000 / 8 + ((STACK >> 39) & 511)] = 0x2000 | P;
	t[0x2000 / 8 + ((STACK >> 30) & 511)] = 0x3000 | P;
	t[0x3000 / 8 + ((STACK >> 21) & 511)] = 0x4000 | P;
	t[0x4000 / 8 + ((STACK >> 12) & 511)] = 0x9000 | P;
	t[0x4000 / 8 + ((STACK >> 12) & 511) + 1] = 0x6000 | P;
}

TEST(vcpu_push_regs_keeps_them_below_the_stack_pointer)
{
	static uint64_t ram[GUEST / 8];
	struct guest_mem mem;
	struct kvm_regs r = { .rdi = 1, .rsi = 2, .rdx = 3, .rcx = 4,
			      .rsp = STACK + 0x1010 };

	stack_guest(ram, &mem);
	/* Straddling the two pages: rdi, rsi in the first, rdx, rcx in the
	 * second frame. */
	CHECK_EQ(vcpu_push_regs(&mem, 0x1000, &r), 0);
	CHECK_EQ(r.rsp, STACK + 0xff0);
	CHECK_EQ(ram[(0x9000 + 0xff0) / 8], 1);
	CHECK_EQ(ram[(0x9000 + 0xff8) / 8], 2);
	CHECK_EQ(ram[0x6000 / 8], 3);
	CHECK_EQ(ram[0x6008 / 8], 4);
	CHECK_EQ(r.rdi, 1);	/* the registers themselves are left */
}

TEST(vcpu_push_regs_writes_nothing_it_cannot_map)
{
	static uint64_t ram[GUEST / 8];
	struct guest_mem mem;
	struct kvm_regs r = { .rdi = 1, .rsi = 2, .rdx = 3, .rcx = 4,
			      .rsp = STACK + 0x10 };

	stack_guest(ram, &mem);
	/* Two of the four slots below the unmapped page: none written. */
	CHECK(vcpu_push_regs(&mem, 0x1000, &r) < 0);
	CHECK_EQ(r.rsp, STACK + 0x10);
	CHECK_EQ(ram[0x9000 / 8], 0);
	CHECK_EQ(ram[0x9008 / 8], 0);
	r.rsp = STACK + 0x1004;		/* misaligned */
	CHECK_EQ(vcpu_push_regs(&mem, 0x1000, &r), -EINVAL);
	CHECK_EQ(r.rsp, STACK + 0x1004);
}
