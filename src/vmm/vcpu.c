/* vcpu.c - vCPU creation, CPUID, boot registers and exit dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inject/inject.h"
#include "iso/atomic.h"
#include "iso/engine.h"
#include "vmm/vcpu.h"
#include "vmm/x86.h"

#define CPUID_MAX_ENTRIES 256

static int setup_cpuid(struct vcpu *c)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, sz);
	bool tsc_deadline;
	int r = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	tsc_deadline = ioctl(c->vm->kvm_fd, KVM_CHECK_EXTENSION,
			     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (ioctl(c->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		r = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC id, and "running under a hypervisor". */
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)c->id << 24);
			e->ecx |= 1u << 31;
			/* The in-kernel LAPIC emulates the TSC-deadline timer,
			 * but KVM leaves the bit for the VMM to set. Without it
			 * Linux calibrates the LAPIC timer against the PIT,
			 * which fails under emulation ("APIC timer disabled"). */
			if (tsc_deadline)
				e->ecx |= 1u << 24;
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)c->id;	/* x2APIC id */
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		r = -errno;
out:
	free(cpuid);
	return r;
}

int vcpu_create(struct vcpu *c, struct vm *vm, int id, char *err, size_t errlen)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->id = id;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (c->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU %d: %s", id, strerror(errno));
		return -errno;
	}
	c->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		r = -errno;
		close(c->fd);
		snprintf(err, errlen, "mmap kvm_run: %s", strerror(-r));
		return r;
	}
	r = setup_cpuid(c);
	if (r) {
		snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %d: %s", id, strerror(-r));
		vcpu_destroy(c);
	}
	return r;
}

void vcpu_destroy(struct vcpu *c)
{
	rmw_finder_free(c->rmw);
	c->rmw = NULL;
	if (c->run && c->run != MAP_FAILED)
		munmap(c->run, (size_t)c->vm->run_size);
	if (c->fd >= 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	if (code) {
		s->type = 0xb;	/* execute/read, accessed */
		s->l = 1;
	} else {
		s->type = 0x3;	/* read/write, accessed */
		s->db = 1;
	}
}

#define CR0_PE	0x1ull
#define CR0_ET	0x10ull
#define CR0_PG	0x80000000ull
#define CR4_PAE	0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

int vcpu_setup_boot(struct vcpu *c, uint64_t entry, uint64_t params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = entry, .rsi = params, .rflags = 2 };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, BOOT_CS, 1);
	flat_segment(&sregs.ds, BOOT_DS, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = BOOT_PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(c->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

static enum vcpu_event iso_failed(struct vcpu *c, int err)
{
	const char *why = engine_error(c->iso);

	snprintf(c->err, sizeof(c->err), "vCPU %d: %s", c->id,
		 why ? why : strerror(-err));
	return VCPU_INTERNAL_ERROR;
}

/* The --inject breakpoint's OUT (inject.h): the mutated code runs. */
static enum vcpu_event inject_breakpoint(struct vcpu *c)
{
	int err = inject_port_exit(c->inj, (unsigned int)c->id, c->fd, c->run);

	if (!err)
		return VCPU_CONTINUE;
	snprintf(c->err, sizeof(c->err), "vCPU %d: --inject: cannot resume "
		 "at the breakpoint: %s", c->id, strerror(-err));
	return VCPU_INTERNAL_ERROR;
}

static enum vcpu_event handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;

	if (wr && inject_port(c->inj, run->io.port))	/* a breakpoint */
		return inject_breakpoint(c);
	/* A rep ins/outs arrives as count back-to-back elements. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (c->iso && wr) {
			int r = engine_port_write(c->iso, (unsigned int)c->id,
						  run->io.port, data,
						  run->io.size);

			if (r < 0)
				return iso_failed(c, r);
			if (r)
				continue;
		}
		if (bus_dispatch(&c->vm->pio, run->io.port, data, run->io.size, wr))
			c->unclaimed_io++;
	}
	return VCPU_CONTINUE;
}

static int gva_to_gpa(struct vcpu *c, uint64_t gva, uint64_t *gpa);
static int read_gva(struct vcpu *c, uint64_t gva, void *buf, size_t len);
static uint64_t gpr(const struct kvm_regs *r, unsigned int n);

/* The guest-physical pages where a push, or a frame the CPU pushes, goes
 * next: those of RSP - 8 and RSP - 72 (translations cached; 0 when not
 * mapped). */
static void stack_pages(struct vcpu *c, uint64_t rsp, uint64_t page[2])
{
	for (int i = 0; i < 2; i++) {
		uint64_t gva = (rsp - (i ? 72 : 8)) & ~4095ull;

		if (c->sp_gva[i] != gva || !c->sp_gpa[i]) {
			c->sp_gva[i] = gva;
			if (gva_to_gpa(c, gva, &c->sp_gpa[i]))
				c->sp_gpa[i] = 0;
			c->sp_gpa[i] &= ~4095ull;
		}
		page[i] = c->sp_gpa[i];
	}
}

static void to_rmw_regs(const struct kvm_regs *k, struct rmw_regs *r)
{
	for (unsigned int i = 0; i < 16; i++)
		r->gpr[i] = gpr(k, i);
	r->rip = k->rip;
	r->rflags = k->rflags;
}

static void from_rmw_regs(const struct rmw_regs *r, struct kvm_regs *k)
{
	__u64 *v[16] = {
		&k->rax, &k->rcx, &k->rdx, &k->rbx, &k->rsp, &k->rbp, &k->rsi,
		&k->rdi, &k->r8, &k->r9, &k->r10, &k->r11, &k->r12, &k->r13,
		&k->r14, &k->r15,
	};

	for (int i = 0; i < 16; i++)
		*v[i] = r->gpr[i];
	k->rflags = r->rflags;
}

/* The exit being handled read RIP: keep it for a triple fault's report. */
static void note_rip(struct vcpu *c, uint64_t rip)
{
	c->last_rip = rip;
	if (c->nhist)
		c->hist[(c->nhist - 1) % VCPU_HISTORY].rip = rip;
}

/* Remember the exit KVM_RUN just returned with (a ring of the last ones). */
static void record_exit(struct vcpu *c, uint32_t reason)
{
	struct vcpu_exit *x = &c->hist[c->nhist++ % VCPU_HISTORY];

	*x = (struct vcpu_exit){ .reason = reason };
	if (reason == KVM_EXIT_MMIO) {
		x->addr = c->run->mmio.phys_addr;
		x->write = c->run->mmio.is_write;
	} else if (reason == KVM_EXIT_IO) {
		x->addr = c->run->io.port;
		x->write = c->run->io.direction == KVM_EXIT_IO_OUT;
	}
	if (c->iso) {	/* the view it ran in, before the exit is handled */
		x->view = engine_in_view(c->iso, (unsigned int)c->id) ? 2 : 1;
		x->edits = engine_view_edits(c->iso);
	}
}

/* The bytes [rip - *n, rip) into code (*n <= 15 on entry): fewer when the
 * page before rip's is not mapped. */
static int code_before(struct vcpu *c, uint64_t rip, uint8_t *code,
		       size_t *n)
{
	if (!read_gva(c, rip - *n, code, *n))
		return 0;
	if ((rip & 4095) < *n)
		*n = rip & 4095;
	return *n ? read_gva(c, rip - *n, code, *n) : -EFAULT;
}

/* Was the write of len bytes at gpa made by a locked read-modify-write
 * (atomic.h)?  Its candidates ending at rip are checked by translating
 * their address: the first that lands on gpa is it. */
static bool find_rmw(struct vcpu *c, const struct kvm_regs *k, uint64_t gpa,
		     uint32_t len, struct rmw *m, struct rmw_regs *r)
{
	struct rmw cand[4];
	struct kvm_sregs s;
	uint8_t code[15];
	size_t n = sizeof(code);
	bool have_s = false;
	int found;

	if (!c->rmw && !c->rmw_failed) {
		c->rmw = rmw_finder_new();
		c->rmw_failed = !c->rmw;
	}
	if (!c->rmw || (gpa & 4095) + len > 4096 ||
	    code_before(c, k->rip, code, &n))
		return false;
	to_rmw_regs(k, r);
	found = rmw_find(c->rmw, code, n, r, len, cand, 4);
	for (int i = 0; i < found; i++) {
		uint64_t base = 0, pa = 0;

		if (cand[i].seg >= 0) {
			if (!have_s && ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
				continue;
			have_s = true;
			base = cand[i].seg == 4 ? s.fs.base : s.gs.base;
		}
		if (!gva_to_gpa(c, rmw_address(&cand[i], r, base), &pa) &&
		    pa == gpa) {
			*m = cand[i];
			return true;
		}
	}
	return false;
}

/* An MMIO exit inside guest RAM: a write trapped by a read-only slot, the
 * writing instruction just before RIP (KVM has completed it); or a read,
 * which only a slot missing for a moment explains, served from RAM.  A
 * locked read-modify-write is performed atomically, the registers KVM
 * set corrected if another vCPU changed the value meanwhile. */
static enum vcpu_event handle_ram(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	struct engine_trap t;
	struct kvm_regs regs;
	struct rmw_regs rr;
	struct rmw m;
	bool fixed = false;
	int r;

	if (!run->mmio.is_write) {
		engine_ram_read(c->iso, (unsigned int)c->id,
				run->mmio.phys_addr, run->mmio.data,
				run->mmio.len);
		return VCPU_CONTINUE;
	}
	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return iso_failed(c, -errno);
	note_rip(c, regs.rip);
	t = (struct engine_trap){ .vcpu = (unsigned int)c->id,
				  .rip = regs.rip, .rsp = regs.rsp, .regs = &rr,
				  .fixed = &fixed };
	if (find_rmw(c, &regs, run->mmio.phys_addr, run->mmio.len, &m, &rr))
		t.rmw = &m;
	stack_pages(c, regs.rsp, t.stack);
	r = engine_ram_write(c->iso, &t, run->mmio.phys_addr, run->mmio.data,
			     run->mmio.len, NULL);
	if (!r && fixed) {
		from_rmw_regs(&rr, &regs);
		if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
			r = -errno;
	}
	return r ? iso_failed(c, r) : VCPU_CONTINUE;
}

/* A triple fault: what is known of where the CPU was, into c->err for the
 * message that ends the run (KVM on AMD resets the vCPU before exiting,
 * so its registers are gone; the RIP of its last exit to the VMM and,
 * isolating, its view are kept). */
static enum vcpu_event shutdown(struct vcpu *c)
{
	int n = snprintf(c->err, sizeof(c->err), "vCPU %d", c->id);

	if (c->last_rip && n > 0 && (size_t)n < sizeof(c->err))
		n += snprintf(c->err + n, sizeof(c->err) - (size_t)n,
			      ", last exit to the VMM at rip 0x%llx",
			      (unsigned long long)c->last_rip);
	if (c->iso && n > 0 && (size_t)n < sizeof(c->err))
		snprintf(c->err + n, sizeof(c->err) - (size_t)n, ", %s view",
			 engine_in_view(c->iso, (unsigned int)c->id) ?
			 "protected" : "normal");
	return VCPU_SHUTDOWN;
}

static enum vcpu_event handle_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;

	if (c->iso && guest_mem_ptr(&c->vm->mem, run->mmio.phys_addr,
				    run->mmio.len))
		return handle_ram(c);
	if (bus_dispatch(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			 run->mmio.len, run->mmio.is_write))
		c->unclaimed_io++;
	return VCPU_CONTINUE;
}

/* Guest-physical page of guest-virtual gva, through c's page tables. */
static int gva_to_gpa(struct vcpu *c, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = gva };

	if (ioctl(c->fd, KVM_TRANSLATE, &t) < 0)
		return -errno;
	if (!t.valid)
		return -EFAULT;
	*gpa = t.physical_address;
	return 0;
}

/* inject_walk_fn through KVM_TRANSLATE: c's own current tables (cr3 is
 * the one the vCPU runs on). */
static int translate_walk(void *opaque, uint64_t cr3, uint64_t gva,
			  uint64_t *gpa)
{
	(void)cr3;
	return gva_to_gpa(opaque, gva, gpa);
}

/* The one page-by-page copy of guest-virtual memory (inject_read()). */
static int read_gva(struct vcpu *c, uint64_t gva, void *buf, size_t len)
{
	struct inject_guest g = { &c->vm->mem, translate_walk, c, 0 };

	return inject_read(&g, gva, buf, len);
}

#define TSS_RSP0	4
#define TSS_IST1	36

/* The 64-bit delivery: a gate with an IST index switches to that stack;
 * else a change from CPL 3 to the TSS's RSP0; else the current stack.
 * RSP is aligned down to 16 bytes, then SS, RSP, RFLAGS, CS, RIP and an
 * error code are pushed. */
int vcpu_event_frame_pages(struct vcpu *c, uint64_t *gpa, unsigned int max)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs regs;
	uint64_t top, lo, ends[2];
	unsigned int vector, frame = 40, n = 0;
	uint8_t gate[16];
	int r;

	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (ev.nmi.injected) {
		vector = 2;
	} else if (ev.exception.injected || ev.exception.pending) {
		vector = ev.exception.nr;
		frame += ev.exception.has_error_code ? 8 : 0;
	} else if (ev.interrupt.injected) {
		vector = ev.interrupt.nr;
	} else {
		return 0;
	}
	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	if (!(s.efer & EFER_LMA) || 16 * vector + 15 > s.idt.limit)
		return -EINVAL;
	r = read_gva(c, s.idt.base + 16 * vector, gate, sizeof(gate));
	if (!r && (gate[4] & 7))
		r = read_gva(c, s.tr.base + TSS_IST1 + 8 * ((gate[4] & 7) - 1),
			     &top, 8);
	else if (!r && (s.cs.selector & 3))
		r = read_gva(c, s.tr.base + TSS_RSP0, &top, 8);
	else
		top = regs.rsp;
	if (r)
		return r;
	top &= ~0xfull;
	lo = top - frame;
	ends[0] = lo;
	ends[1] = top - 1;
	for (int i = 0; i < 2 && n < max; i++) {
		uint64_t page = 0;

		if (i && (ends[1] >> 12) == (ends[0] >> 12))
			break;
		r = gva_to_gpa(c, ends[i], &page);
		if (r)
			return r;
		gpa[n++] = page & ~4095ull;
	}
	return (int)n;
}

/* The general registers in ModRM order (rax, rcx, rdx, rbx, rsp, rbp,
 * rsi, rdi, r8..r15). */
static uint64_t gpr(const struct kvm_regs *r, unsigned int n)
{
	const uint64_t v[16] = {
		r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};

	return v[n & 15];
}

struct insn {
	const uint8_t *b;
	unsigned int len, pos;
	unsigned int rex;
	bool addr32;
	int seg;			/* 4 = fs, 5 = gs, else -1 */
};

static int next_byte(struct insn *in)
{
	return in->pos < in->len ? in->b[in->pos++] : -1;
}

static int64_t disp(struct insn *in, unsigned int n)
{
	int64_t v = 0;

	if (in->pos + n > in->len)
		return 0;
	for (unsigned int i = 0; i < n; i++)
		v |= (int64_t)in->b[in->pos++] << (8 * i);
	return n == 1 ? (int8_t)v : (int32_t)v;
}

/* The effective address of the ModRM memory operand at in->pos (mod !=
 * 3) of the instruction at rip; a RIP-relative one counts from where the
 * operand ends (the instructions decoded here have no immediate). */
static uint64_t modrm_address(struct insn *in, const struct kvm_regs *r,
			      uint64_t rip)
{
	int modrm = next_byte(in), mod = modrm >> 6, rm = modrm & 7;
	uint64_t ea = 0;

	if (rm == 4) {
		int sib = next_byte(in);
		unsigned int idx = ((sib >> 3) & 7) | ((in->rex & 2) << 2);
		unsigned int base = (sib & 7) | ((in->rex & 1) << 3);

		if (idx != 4)
			ea += gpr(r, idx) << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0)
			ea += (uint64_t)disp(in, 4);
		else
			ea += gpr(r, base);
	} else if (rm == 5 && mod == 0) {
		int64_t d = disp(in, 4);

		return rip + in->pos + (uint64_t)d;
	} else {
		ea += gpr(r, (unsigned int)rm | ((in->rex & 1) << 3));
	}
	if (mod == 1)
		ea += (uint64_t)disp(in, 1);
	else if (mod == 2)
		ea += (uint64_t)disp(in, 4);
	return in->addr32 ? (uint32_t)ea : ea;
}

#define XSAVE_MAX	4096	/* the XSAVE area, as far as judged */

/* The length of the memory write of 0f <op> with ModRM reg field reg, if
 * it is one KVM's emulator refuses: cmpxchg16b (0f c7 /1 with REX.W;
 * SLUB's per-CPU freelist update) and the XSAVE family (fxsave 0f ae /0,
 * xsave /4, xsaveopt /6, xsavec 0f c7 /4, xsaves /5: the FPU state saved
 * at a context switch or a signal).  0 for anything else. */
static uint32_t unemulated_len(int op, int reg, unsigned int rex)
{
	if (op == 0xc7 && reg == 1)
		return rex & 8 ? 16 : 0;	/* cmpxchg8b is emulated */
	if ((op == 0xc7 && (reg == 4 || reg == 5)) ||
	    (op == 0xae && (reg == 0 || reg == 4 || reg == 6)))
		return XSAVE_MAX;
	return 0;
}

int vcpu_decode_unemulated(const uint8_t insn[15], const struct kvm_regs *r,
			   const struct kvm_sregs *s, uint64_t *ea,
			   uint32_t *len)
{
	struct insn in = { .b = insn, .len = 15, .seg = -1 };
	int b, op;

	while ((b = next_byte(&in)) >= 0) {
		if (b == 0x64 || b == 0x65)
			in.seg = b - 0x60;
		else if (b == 0x67)
			in.addr32 = true;
		else if (b != 0xf0 && b != 0x66 && b != 0xf2 && b != 0xf3 &&
			 b != 0x26 && b != 0x2e && b != 0x36 && b != 0x3e)
			break;
	}
	if (b >= 0x40 && b <= 0x4f) {
		in.rex = (unsigned int)b & 0xf;
		b = next_byte(&in);
	}
	op = next_byte(&in);
	if (b != 0x0f || in.pos >= in.len || (in.b[in.pos] >> 6) == 3)
		return 0;
	*len = unemulated_len(op, (in.b[in.pos] >> 3) & 7, in.rex);
	if (!*len)
		return 0;
	*ea = modrm_address(&in, r, r->rip);
	if (in.seg == 4)
		*ea += s->fs.base;
	else if (in.seg == 5)
		*ea += s->gs.base;
	return 1;
}

int vcpu_unemulated_write(struct vcpu *c, uint64_t *rip, uint64_t gpa[2],
			  uint32_t *len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t insn[15];
	uint64_t ea;
	int err;

	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	*rip = r.rip;
	err = read_gva(c, r.rip, insn, sizeof(insn));
	if (err)
		return err;
	if (!vcpu_decode_unemulated(insn, &r, &s, &ea, len))
		return 0;
	err = gva_to_gpa(c, ea, &gpa[0]);
	if (!err)
		err = gva_to_gpa(c, ea + *len - 1, &gpa[1]);
	return err ? err : 1;
}

bool vcpu_halted(struct vcpu *c)
{
	struct kvm_mp_state mp;

	return !ioctl(c->fd, KVM_GET_MP_STATE, &mp) &&
	       mp.mp_state == KVM_MP_STATE_HALTED;
}

#define STACK_SIZE	0x4000ull	/* THREAD_SIZE and IRQ_STACK_SIZE */

/* Add page of gva (translated) to the w-style list gpa[*n] unless there. */
static void add_page(struct vcpu *c, uint64_t gva, uint64_t *gpa,
		     unsigned int *n, unsigned int max)
{
	uint64_t page = 0;

	if (*n == max || gva_to_gpa(c, gva, &page))
		return;
	page &= ~4095ull;
	for (unsigned int i = 0; i < *n; i++)
		if (gpa[i] == page)
			return;
	gpa[(*n)++] = page;
}

int vcpu_stack_pages(struct vcpu *c, uint64_t *gpa, unsigned int max)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint64_t tss[8], base;		/* RSP0, then IST1..7 */
	unsigned int n = 0;

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(c->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	if (!(s.efer & EFER_LMA))
		return 0;
	if (!read_gva(c, s.tr.base + TSS_RSP0, &tss[0], 8) &&
	    !read_gva(c, s.tr.base + TSS_IST1, &tss[1], 7 * 8))
		for (int i = 0; i < 8; i++)
			if (tss[i])
				add_page(c, tss[i] - 8, gpa, &n, max);
	if (!(s.cs.selector & 3)) {
		base = r.rsp & ~(STACK_SIZE - 1);
		for (uint64_t a = base; a < base + STACK_SIZE; a += 4096)
			add_page(c, a, gpa, &n, max);
	}
	return (int)n;
}

#define PTE_PRESENT	0x1ull
#define PTE_HUGE	0x80ull
#define PTE_ADDR	0x000ffffffffff000ull
#define CR4_LA57	(1ull << 12)

struct walk {
	const struct guest_mem *mem;
	uint64_t *gpa;
	unsigned int n, max;
};

static bool walked(const struct walk *w, uint64_t table)
{
	for (unsigned int i = 0; i < w->n; i++)
		if (w->gpa[i] == table)
			return true;
	return false;
}

/* Collect table (at level 3 = PML4 .. 0 = PT) and the tables below its
 * entries [lo, hi), each once (a table can hang under several entries). */
static void walk_table(struct walk *w, uint64_t table, int level, int lo,
		       int hi)
{
	const uint64_t *e = guest_mem_ptr(w->mem, table, 4096);

	if (!e || w->n == w->max || walked(w, table))
		return;
	w->gpa[w->n++] = table;
	for (int i = lo; level && i < hi && w->n < w->max; i++) {
		if (!(e[i] & PTE_PRESENT) || (level < 3 && (e[i] & PTE_HUGE)))
			continue;
		walk_table(w, e[i] & PTE_ADDR, level - 1, 0, 512);
	}
}

int vcpu_page_table_pages(struct vcpu *c, uint64_t *cr3, bool user,
			  uint64_t *gpa, unsigned int max)
{
	struct walk w = { &c->vm->mem, gpa, 0, max };
	struct kvm_sregs s;
	uint64_t root;

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	if (!(s.efer & EFER_LMA) || (s.cr4 & CR4_LA57))
		return -EINVAL;
	root = s.cr3 & PTE_ADDR;
	if (root == *cr3)
		return 0;
	*cr3 = root;
	/* PML4 entries 256..511 map the kernel half. */
	walk_table(&w, root, 3, user ? 0 : 256, user ? 256 : 512);
	return (int)w.n;
}

int vcpu_walk(const struct guest_mem *mem, uint64_t cr3, uint64_t gva,
	      uint64_t *gpa)
{
	uint64_t table = cr3 & PTE_ADDR;

	for (int level = 3; level >= 0; level--) {
		const uint64_t *t = guest_mem_ptr(mem, table, 4096);
		unsigned int i = (unsigned int)(gva >> (12 + 9 * level)) & 511;
		uint64_t e, size = 1ull << (12 + 9 * level);

		if (!t)
			return -EFAULT;
		e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!(e & PTE_PRESENT))
			return -ENOENT;
		if (!level || (level < 3 && (e & PTE_HUGE))) {
			*gpa = (e & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -ENOENT;
}

int vcpu_push_regs(const struct guest_mem *mem, uint64_t cr3,
		   struct kvm_regs *r)
{
	const uint64_t v[4] = { r->rdi, r->rsi, r->rdx, r->rcx };
	uint64_t sp = r->rsp - sizeof(v), gpa[4];
	int err;

	if (r->rsp % 8)
		return -EINVAL;
	/* Aligned quadwords: none straddles a page.  All translated before
	 * any is written. */
	for (int i = 0; i < 4; i++) {
		err = vcpu_walk(mem, cr3, sp + 8 * (uint64_t)i, &gpa[i]);
		if (!err && !guest_mem_ptr(mem, gpa[i], 8))
			err = -EFAULT;
		if (err)
			return err;
	}
	for (int i = 0; i < 4; i++)
		memcpy(guest_mem_ptr(mem, gpa[i], 8), &v[i], 8);
	r->rsp = sp;
	return 0;
}

int vcpu_kernel_cr3(struct vcpu *c, uint64_t *cr3)
{
	struct kvm_sregs s;

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	if (!(s.efer & EFER_LMA) || (s.cr4 & CR4_LA57))
		return -EINVAL;
	*cr3 = s.cr3;
	return 0;
}

/* KVM queued a #UD with the fetch failure it reported (no
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE): the guest must not take it. */
static int clear_queued_ud(struct vcpu *c)
{
	struct kvm_vcpu_events ev;

	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (ev.exception.nr != 6 ||
	    !(ev.exception.pending || ev.exception.injected))
		return 0;
	ev.exception.pending = ev.exception.injected = 0;
	/* Leave NMI pending, SIPI, shadow and SMM as they are. */
	ev.flags &= KVM_VCPUEVENT_VALID_PAYLOAD;
	return ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

/* An instruction KVM could not fetch: with fetch switching, one in a hole
 * of the view c runs in (engine.h).  The pages of its first and last
 * possible bytes are looked up (an instruction may straddle into one). */
static enum vcpu_event fetch_fault(struct vcpu *c, bool *handled)
{
	struct kvm_regs regs;
	struct kvm_sregs s;
	uint64_t gpa[2] = { ~0ull, ~0ull };
	int r;

	*handled = false;
	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return iso_failed(c, -errno);
	if (!(s.efer & EFER_LMA) || (s.cr4 & CR4_LA57))
		return VCPU_CONTINUE;
	for (int i = 0; i < 2; i++) {
		uint64_t a;

		if (!vcpu_walk(&c->vm->mem, s.cr3, regs.rip + (i ? 14 : 0),
			       &a))
			gpa[i] = a & ~4095ull;
	}
	note_rip(c, regs.rip);
	r = engine_fetch_fault(c->iso, (unsigned int)c->id, regs.rip, regs.rsp,
			       gpa);
	if (r < 0)
		return iso_failed(c, r);
	if (r && engine_kvm_queues_ud(c->iso)) {
		int err = clear_queued_ud(c);

		if (err)
			return iso_failed(c, err);
	}
	*handled = r > 0;
	return VCPU_CONTINUE;
}

/* An emulation failure that is not a fetch: a write KVM cannot emulate
 * onto a protected page (a kernel function's cmpxchg16b on per-CPU slab
 * data, run protected with readonly-all or CHARIOT_ISO_SWITCH=enter).  The
 * engine judges it and opens its page, or ends the run. */
static enum vcpu_event unemulated_write(struct vcpu *c, bool *handled)
{
	int r = engine_vcpu_stalled(c->iso, (unsigned int)c->id);

	*handled = r > 0;
	if (r > 0 && engine_kvm_queues_ud(c->iso))
		r = clear_queued_ud(c);
	return r < 0 ? iso_failed(c, r) : VCPU_CONTINUE;
}

static enum vcpu_event system_event(struct vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return VCPU_POWEROFF;
	case KVM_SYSTEM_EVENT_RESET:
		return VCPU_RESET;
	default:
		snprintf(c->err, sizeof(c->err), "system event %u",
			 c->run->system_event.type);
		return VCPU_INTERNAL_ERROR;
	}
}

static enum vcpu_event internal_error(struct vcpu *c)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;

	/* Newer KVMs stop an event whose frame hits a read-only page here
	 * (6.1 retries it forever: the engine's watchdog finds it). */
	if (c->iso && c->run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    c->run->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV &&
	    engine_vcpu_stalled(c->iso, (unsigned int)c->id) > 0)
		return VCPU_CONTINUE;
	if (c->iso && c->run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    c->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		bool handled;
		enum vcpu_event ev = fetch_fault(c, &handled);

		if (ev != VCPU_CONTINUE || handled)
			return ev;
		ev = unemulated_write(c, &handled);
		if (ev != VCPU_CONTINUE || handled)
			return ev;
	}

	if (!ioctl(c->fd, KVM_GET_REGS, &regs))
		rip = regs.rip;
	if (c->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(c->err, sizeof(c->err),
			 "vCPU %d: entry failed (hardware reason 0x%llx) at rip 0x%llx",
			 c->id, (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason,
			 rip);
	else
		snprintf(c->err, sizeof(c->err),
			 "vCPU %d: KVM internal error, suberror %u, at rip 0x%llx",
			 c->id, c->run->internal.suberror, rip);
	return VCPU_INTERNAL_ERROR;
}

/* KVM_RUN failed with err.  After a kick (EINTR) immediate_exit is
 * cleared here: a stop request sets it after the machine's stopping flag,
 * which the caller checks next. */
static enum vcpu_event run_failed(struct vcpu *c, int err)
{
	if (err == EINTR || err == EAGAIN) {
		__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_RELAXED);
		c->exits[KVM_EXIT_INTR]++;
		return VCPU_INTERRUPTED;
	}
	snprintf(c->err, sizeof(c->err), "vCPU %d: KVM_RUN: %s", c->id,
		 strerror(err));
	return VCPU_INTERNAL_ERROR;
}

/* Send c to the guest monitor's recovery entry if the engine says so
 * (a denied write, a hang: iso/recovery.h). */
static int recover_redirect(struct vcpu *c)
{
	struct engine_redirect rd;
	struct engine_stop at;
	struct kvm_regs regs;
	uint64_t cr3, saved = 0;

	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	at = (struct engine_stop){ regs.rip, regs.rsp, regs.rflags };
	if (engine_recover_take(c->iso, (unsigned int)c->id, &at, &rd) <= 0)
		return 0;
	/* The guest may find nothing to unwind and go on at rd.resume: with
	 * the registers as they were. */
	if (!vcpu_kernel_cr3(c, &cr3) &&
	    !vcpu_push_regs(&c->vm->mem, cr3, &regs))
		saved = CHARIOT_REDIRECT_SAVED;
	regs.rip = rd.rip;
	regs.rdi = rd.domain;
	regs.rsi = rd.fault_rip;
	regs.rdx = rd.why | saved;
	regs.rcx = rd.resume;
	return ioctl(c->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

enum vcpu_event vcpu_step(struct vcpu *c)
{
	uint32_t reason;
	int r, err;

	if (c->iso && engine_recover_pending(c->iso, (unsigned int)c->id)) {
		err = recover_redirect(c);
		if (err)
			return iso_failed(c, err);
	}
	if (c->iso) {
		err = engine_run_begin(c->iso, (unsigned int)c->id);
		if (err)
			return iso_failed(c, err);
	}
	if (c->inj)	/* a failure is reported, the run goes on */
		inject_vcpu_sync(c->inj, c->fd, &c->inj_gen);
	r = ioctl(c->fd, KVM_RUN, 0);
	err = errno;
	if (c->iso)
		engine_run_end(c->iso, (unsigned int)c->id);
	if (r < 0)
		return run_failed(c, err);
	reason = c->run->exit_reason;
	if (reason < VCPU_EXIT_REASONS)
		c->exits[reason]++;
	record_exit(c, reason);
	switch (reason) {
	case KVM_EXIT_IO:
		return handle_io(c);
	case KVM_EXIT_MMIO:
		return handle_mmio(c);
	case KVM_EXIT_INTR:
		return VCPU_INTERRUPTED;
	case KVM_EXIT_HLT:
		return VCPU_CONTINUE;	/* the in-kernel LAPIC wakes it */
	case KVM_EXIT_SHUTDOWN:
		return shutdown(c);
	case KVM_EXIT_SYSTEM_EVENT:
		return system_event(c);
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_FAIL_ENTRY:
		return internal_error(c);
	case KVM_EXIT_DEBUG:
		if (c->inj) {
			inject_debug_exit(c->inj, (unsigned int)c->id, c->fd,
					  c->run);
			return VCPU_CONTINUE;
		}
		/* fall through */
	default:
		snprintf(c->err, sizeof(c->err), "vCPU %d: unexpected exit %u",
			 c->id, reason);
		return VCPU_INTERNAL_ERROR;
	}
}

const char *vcpu_exit_name(int reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception",
		[KVM_EXIT_IO] = "io", [KVM_EXIT_HYPERCALL] = "hypercall",
		[KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
		[KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window",
		[KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
		[KVM_EXIT_INTR] = "intr", [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
		[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	};

	if (reason >= 0 && reason < (int)(sizeof(names) / sizeof(names[0])) &&
	    names[reason])
		return names[reason];
	return NULL;
}

/* Append to buf[*at..len) what fmt says, as much as fits. */
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (w > 0)
		*at = *at + (size_t)w < len ? *at + (size_t)w : len - 1;
}

size_t vcpu_history(const struct vcpu *c, char *buf, size_t len)
{
	uint64_t n = c->nhist < VCPU_HISTORY ? c->nhist : VCPU_HISTORY;
	size_t at = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (uint64_t i = c->nhist - n; i < c->nhist; i++) {
		const struct vcpu_exit *x = &c->hist[i % VCPU_HISTORY];
		const struct vcpu_exit *prev = i == c->nhist - n ? NULL :
					       &c->hist[(i - 1) % VCPU_HISTORY];
		const char *name = vcpu_exit_name((int)x->reason);

		if (prev)
			append(buf, len, &at, ", ");
		if (name)
			append(buf, len, &at, "%s", name);
		else
			append(buf, len, &at, "exit %u", x->reason);
		if (x->reason == KVM_EXIT_MMIO || x->reason == KVM_EXIT_IO)
			append(buf, len, &at, " %c 0x%llx", x->write ? 'w' : 'r',
			       (unsigned long long)x->addr);
		if (x->rip)
			append(buf, len, &at, " rip 0x%llx",
			       (unsigned long long)x->rip);
		if (x->view)
			append(buf, len, &at, " %s",
			       x->view == 2 ? "protected" : "normal");
		/* Views edited since its previous exit (slots changed under
		 * it, or while it handled that exit). */
		if (prev && x->view && x->edits != prev->edits)
			append(buf, len, &at, " +%llu edits",
			       (unsigned long long)(x->edits - prev->edits));
	}
	return at;
}
