/* run.c - `chariot run`: boot the guest, run a command or a shell in it,
 * report how the run ended. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "vmm/machine.h"

static const char help[] =
"usage: chariot run [OPTIONS] [-- COMMAND [ARGS...]]\n"
"\n"
"Boot the guest (Debian's stock kernel and the project's initramfs). With a\n"
"COMMAND, run it as root in the guest, stream the console to stdout, power\n"
"off and exit with COMMAND's exit status. Without one, an interactive shell\n"
"on the console (Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A).\n"
"\n"
"options:\n"
"  --kernel FILE     kernel: ELF vmlinux or bzImage (default build/kernel/vmlinux)\n"
"  --initrd FILE     initramfs (default build/guest/initramfs.cpio.gz)\n"
"  --append ARGS     kernel command line, replacing the default:\n"
"                    \"" BOOT_DEFAULT_APPEND "\"\n"
"                    (virtio devices are always added)\n"
"  --mem MiB         guest RAM (default 512)\n"
"  --cpus N          vCPUs (default 1)\n"
"  --disk FILE       a virtio-blk disk backed by FILE, read-write; repeatable:\n"
"                    /dev/vda, /dev/vdb, ... in order\n"
"  --net pair        two virtio-net NICs wired back to back in the VMM (eth0,\n"
"                    eth1); in the guest, chariot-netpair puts eth1 in netns\n"
"                    'peer' with 10.0.0.1 <-> 10.0.0.2\n"
"  --net tap:NAME    a virtio-net NIC on host tap interface NAME\n"
"  --timeout SECS    stop a guest still running after SECS seconds\n"
"  --isolate MOD[,MOD...]\n"
"                    isolate these guest kernel modules (at most 16, names of\n"
"                    letters, digits, _ and -; - is taken as _; repeatable):\n"
"                    while a vCPU executes one of their instructions, guest RAM\n"
"                    is write-protected for that vCPU and every write it traps\n"
"                    is judged against the module's authorization table (the\n"
"                    kernel code it calls runs unprotected); the guest monitor\n"
"                    learns the names as chariot_monitor.isolate=...\n"
"  --policy enforce  drop the writes a module may not make (default)\n"
"  --policy learn    perform them, and only report them as violations\n"
"  --recover reload  after an isolated module faults (a write denied in enforce\n"
"                    mode, an exception or a WARN in its code, a hang), unwind\n"
"                    the call to the kernel with an error, unload the module\n"
"                    and load it again (default); a call that returns holding\n"
"                    a lock, or a block request the driver never ends (timed\n"
"                    out, then more time asked or left undone a period on), is\n"
"                    not unwound, the rest is the same\n"
"  --recover unload  the same, but leave it unloaded\n"
"  --recover off     no recovery: denied writes are dropped and the driver goes\n"
"                    on; its exceptions oops as without Chariot\n"
"  --recover-limit N --recover-window SECS\n"
"                    N faults of one module within SECS leave it unloaded (the\n"
"                    fault is deterministic; default 3 in 60)\n"
"  --hang-ms MS      a vCPU inside a module's call longer than MS without\n"
"                    sleeping is a hang (default 10000; 0: never). Wall\n"
"                    time: where whole calls run protected (readonly-all)\n"
"                    and traps are slow, correct calls can outlast it\n"
"  --inject MOD:TYPE:SEED\n"
"                    inject one fault into guest module MOD when it loads,\n"
"                    before its init runs: a mutation of fault TYPE in its\n"
"                    code, chosen by SEED (same kernel, module and seed: same\n"
"                    mutation). TYPE is one of text-flip, src-operand,\n"
"                    dst-operand, pointer, insn-delete, branch-delete,\n"
"                    branch-invert, loop, init-delete, interface, alloc,\n"
"                    premature-free, leak, copy-overrun, off-by-one, sync,\n"
"                    stack. Only MOD's first load is mutated. With --isolate,\n"
"                    MOD must be isolated; without, it runs unprotected (the\n"
"                    monitor only reports where its code is). A breakpoint\n"
"                    at the mutation tells whether it ever ran: an OUT to\n"
"                    port 0xe4-0xe7 in its place until it does, or with\n"
"                    CHARIOT_INJECT_BREAK=hw debug registers (hardware KVM\n"
"                    only). Calls are matched to kernel functions by the\n"
"                    kernel image's export tables (an ELF vmlinux, booted\n"
"                    nokaslr; CHARIOT_SYSTEM_MAP=FILE adds a System.map)\n"
"  --sites FILE      with --inject: pick the mutation only among instructions\n"
"                    at these offsets into MOD's text (one per line), the\n"
"                    ones a workload ran (--cover): a fault it can activate\n"
"  --cover MOD       no fault: record which of MOD's instructions run. Each\n"
"                    gets an OUT to port 0xe4 when MOD loads, put back the\n"
"                    first time it runs (one exit per instruction). The\n"
"                    --json report's inject.cover.sites lists their offsets\n"
"                    into MOD's text (never listed: padding, static calls,\n"
"                    direct jmps - the kernel checks those - and a one-byte\n"
"                    instruction right after another's OUT)\n"
"  --snapshot FILE   start from FILE, a snapshot of this very configuration\n"
"                    taken when init started (kernel, initramfs, command line,\n"
"                    guest COMMAND, --mem, --cpus, devices, --isolate and the\n"
"                    chariot binary all the same), instead of booting; when\n"
"                    FILE is absent or was taken for another configuration,\n"
"                    boot, and save one there when init starts. A file that\n"
"                    is not a Chariot snapshot is refused, never overwritten.\n"
"                    What a run does after init (--inject, disk contents)\n"
"                    may differ from the run that saved it\n"
"  --json FILE       write a run report (how it ended, status, wall time,\n"
"                    boot-to-init, VM exits by reason, the guest monitor; with\n"
"                    --isolate the mechanism, each module's counters and the\n"
"                    violations; with --inject the mutation and whether it was\n"
"                    applied and activated; with --snapshot whether it was\n"
"                    saved or restored, and in how many ms)\n"
"  -h, --help        this help\n"
"\n"
"exit status:\n"
"  0-255  the guest COMMAND's exit status (0 after a shell or a power-off)\n"
"  2      bad input (unknown option, missing or corrupt kernel, missing disk,\n"
"         bad --cpus/--mem/--inject, no usable /dev/kvm): nothing was run\n"
"  120    the guest kernel panicked\n"
"  121    the guest triple-faulted or reset\n"
"  122    KVM internal error or VMM failure\n"
"  124    --timeout elapsed (guest hung)\n"
"  130    interrupted (SIGINT/SIGTERM)\n"
"The --json report's \"end\" tells these apart when COMMAND itself exits\n"
"with one of these numbers.\n"
"\n"
"Write protection uses KVM's second (SMM) address space where KVM has one,\n"
"else makes all of RAM read-only while any vCPU runs an isolated module;\n"
"CHARIOT_ISO_MECH=smm-view|readonly-all forces one (for tests).\n"
"\n"
"Without hardware virtualization (no vmx/svm), run through tools/testhost.\n";

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_MEM, OPT_CPUS, OPT_DISK,
       OPT_NET, OPT_TIMEOUT, OPT_JSON, OPT_ISOLATE, OPT_POLICY,
       OPT_RECOVER, OPT_RECOVER_LIMIT, OPT_RECOVER_WINDOW, OPT_HANG_MS, OPT_INJECT,
       OPT_SNAPSHOT, OPT_SITES, OPT_COVER };

static const struct option opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "isolate", required_argument, NULL, OPT_ISOLATE },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "recover", required_argument, NULL, OPT_RECOVER },
	{ "recover-limit", required_argument, NULL, OPT_RECOVER_LIMIT },
	{ "recover-window", required_argument, NULL, OPT_RECOVER_WINDOW },
	{ "hang-ms", required_argument, NULL, OPT_HANG_MS },
	{ "inject", required_argument, NULL, OPT_INJECT },
	{ "sites", required_argument, NULL, OPT_SITES },
	{ "cover", required_argument, NULL, OPT_COVER },
	{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct run_opts {
	struct machine_config cfg;
	const char *json;
	char kernel_buf[PATH_MAX];
	char initrd_buf[PATH_MAX];
	char isolate[ENGINE_MAX_MODULES][DOMAIN_NAME_LEN];
	struct inject_spec inject;
	const char *sites;	/* --sites FILE */
	uint32_t *site_buf;	/* its offsets (free()) */
	bool hang_given;	/* --hang-ms was on the command line */
};

static int bad(const char *fmt, const char *arg)
{
	return cli_bad("run", fmt, arg);
}

static int parse_net(struct run_opts *o, const char *v)
{
	if (!strcmp(v, "pair")) {
		o->cfg.net = NET_PAIR;
		return 0;
	}
	if (!strncmp(v, "tap:", 4) && v[4] && strlen(v + 4) < 16) {
		o->cfg.net = NET_TAP;
		o->cfg.tap = v + 4;
		return 0;
	}
	return bad("bad --net '%s': expected pair or tap:NAME", v);
}

/* One module name of --isolate, [start, end) of the argument. */
static int add_module(struct run_opts *o, const char *arg, const char *start,
		      const char *end)
{
	char *name;
	int r;

	if (o->cfg.nisolate == ENGINE_MAX_MODULES)
		return bad("too many --isolate modules (at most %s)", "16");
	name = o->isolate[o->cfg.nisolate];
	r = domain_module_name(start, (size_t)(end - start), name);
	if (r == -ENAMETOOLONG)
		return bad("bad --isolate '%s': module names are 1 to 55 characters", arg);
	if (r)
		return bad("bad --isolate '%s': letters, digits, _ and - only", arg);
	for (int i = 0; i < o->cfg.nisolate; i++)
		if (!strcmp(o->cfg.isolate[i], name))
			return bad("--isolate names module '%s' twice", name);
	o->cfg.isolate[o->cfg.nisolate++] = name;
	return 0;
}

static int parse_isolate(struct run_opts *o, const char *v)
{
	const char *start = v;

	for (const char *p = v;; p++) {
		if (*p && *p != ',')
			continue;
		if (add_module(o, v, start, p))
			return -1;
		if (!*p)
			return 0;
		start = p + 1;
	}
}

/* --inject MOD:TYPE:SEED, or --cover MOD: one injector spec either way. */
static int parse_inject(struct run_opts *o, const char *v, bool cover)
{
	int (*parse_fn)(const char *, struct inject_spec *, char *, size_t) =
		cover ? inject_parse_cover : inject_parse;
	char why[640];

	if (o->cfg.inject)
		return bad("--inject or --cover given twice%s", "");
	if (parse_fn(v, &o->inject, why, sizeof(why)))
		return bad(cover ? "bad --cover: %s" : "bad --inject: %s", why);
	o->cfg.inject = &o->inject;
	return 0;
}

/* --sites FILE, once --inject is known. */
static int load_sites(struct run_opts *o)
{
	char why[PATH_MAX + 128];
	long n;

	if (!o->sites)
		return 0;
	if (!o->cfg.inject || o->inject.cover)
		return bad("--sites %s needs --inject", o->sites);
	n = inject_read_sites(o->sites, &o->site_buf, why, sizeof(why));
	if (n < 0)
		return bad("bad --sites: %s", why);
	o->inject.only = o->site_buf;
	o->inject.nonly = (size_t)n;
	return 0;
}

static int parse_opt(struct run_opts *o, int c, const char *v)
{
	unsigned long long n;

	switch (c) {
	case OPT_KERNEL: o->cfg.kernel = v; return 0;
	case OPT_INITRD: o->cfg.initrd = v; return 0;
	case OPT_APPEND: o->cfg.append = v; return 0;
	case OPT_JSON: o->json = v; return 0;
	case OPT_SNAPSHOT:
		if (!*v)
			return bad("bad --snapshot '%s': a file name", v);
		o->cfg.snapshot = v;
		return 0;
	case OPT_NET: return parse_net(o, v);
	case OPT_ISOLATE: return parse_isolate(o, v);
	case OPT_INJECT: return parse_inject(o, v, false);
	case OPT_COVER: return parse_inject(o, v, true);
	case OPT_SITES: o->sites = v; return 0;
	case OPT_POLICY:
		if (strcmp(v, "enforce") && strcmp(v, "learn"))
			return bad("bad --policy '%s': enforce or learn", v);
		o->cfg.learn = !strcmp(v, "learn");
		return 0;
	case OPT_RECOVER:
		if (recover_mode_parse(v) < 0)
			return bad("bad --recover '%s': reload, unload or off", v);
		o->cfg.recover = (enum recover_mode)recover_mode_parse(v);
		return 0;
	case OPT_RECOVER_LIMIT:
		if (cli_parse_u64(v, 1, 16, &n))
			return bad("bad --recover-limit '%s': 1 to 16", v);
		o->cfg.recover_limit = (unsigned int)n;
		return 0;
	case OPT_RECOVER_WINDOW:
		if (cli_parse_u64(v, 0, 86400, &n))
			return bad("bad --recover-window '%s': seconds, 0 to 86400", v);
		o->cfg.recover_window_s = (unsigned int)n;
		return 0;
	case OPT_HANG_MS:
		if (cli_parse_u64(v, 0, 3600000, &n))
			return bad("bad --hang-ms '%s': milliseconds, 0 to 3600000", v);
		o->cfg.hang_ms = (unsigned int)n;
		o->hang_given = true;
		return 0;
	case OPT_MEM:
		if (cli_parse_u64(v, 64, 1ull << 40, &n))
			return bad("bad --mem '%s': MiB, at least 64", v);
		o->cfg.mem_mib = n;
		return 0;
	case OPT_CPUS:
		if (cli_parse_u64(v, 1, MACHINE_MAX_CPUS, &n))
			return bad("bad --cpus '%s': 1 to 64", v);
		o->cfg.cpus = (int)n;
		return 0;
	case OPT_TIMEOUT:
		if (cli_parse_u64(v, 1, 1000000, &n))
			return bad("bad --timeout '%s': whole seconds, at least 1", v);
		o->cfg.timeout_s = (double)n;
		return 0;
	case OPT_DISK:
		if (o->cfg.ndisks == MACHINE_MAX_DISKS)
			return bad("too many --disk (at most %s)", "8");
		o->cfg.disks[o->cfg.ndisks++] = v;
		return 0;
	default:
		return -1;
	}
}

/* CHARIOT_ISO_MECH forces a protection mechanism (tests). */
static int parse_mech(struct run_opts *o)
{
	const char *v = getenv("CHARIOT_ISO_MECH");

	if (!v || !*v)
		return 0;
	for (int m = 0; m < PROTECT_MECHS; m++)
		if (!strcmp(v, protect_mech_name(m))) {
			o->cfg.iso_mech_forced = true;
			o->cfg.iso_mech = m;
			return 0;
		}
	return bad("bad CHARIOT_ISO_MECH '%s': smm-view or readonly-all", v);
}

static int parse(struct run_opts *o, int argc, char **argv)
{
	int c;

	o->cfg.mem_mib = 512;
	o->cfg.cpus = 1;
	o->cfg.recover = RECOVER_RELOAD;
	o->cfg.recover_limit = RECOVER_DEFAULT_LIMIT;
	o->cfg.recover_window_s = RECOVER_DEFAULT_WINDOW;
	o->cfg.hang_ms = RECOVER_DEFAULT_HANG_MS;
	o->cfg.append = BOOT_DEFAULT_APPEND;
	o->cfg.console_fd = STDOUT_FILENO;
	o->cfg.kernel = cli_default_path("kernel/vmlinux", o->kernel_buf,
					 sizeof(o->kernel_buf));
	o->cfg.initrd = cli_default_path("guest/initramfs.cpio.gz", o->initrd_buf,
					 sizeof(o->initrd_buf));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return 1;
		}
		if (c == '?')
			return bad("unknown or incomplete option '%s'", argv[optind - 1]);
		if (parse_opt(o, c, optarg))
			return -1;
	}
	o->cfg.argc = argc - optind;
	o->cfg.argv = argv + optind;
	if (load_sites(o))
		return -1;
	return parse_mech(o);
}

/* Interactive console: raw terminal, Ctrl-A x quits. */
struct console {
	struct machine *m;
	struct termios saved;
	int raw;
	int stop_pipe[2];
	pthread_t thread;
};

static void *console_thread(void *arg)
{
	struct console *con = arg;
	int escape = 0;

	for (;;) {
		struct pollfd p[2] = { { STDIN_FILENO, POLLIN, 0 },
				       { con->stop_pipe[0], POLLIN, 0 } };
		uint8_t buf[256], out[256];
		size_t n = 0;
		ssize_t r;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			break;
		r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (escape) {
				escape = 0;
				if (buf[i] == 'x') {
					machine_end(con->m, END_QUIT, -1, "quit from the console");
					return NULL;
				}
				if (buf[i] != 1)
					continue;
			} else if (buf[i] == 1) {
				escape = 1;
				continue;
			}
			out[n++] = buf[i];
		}
		machine_console_input(con->m, out, n);
	}
	return NULL;
}

static int console_start(struct console *con, struct machine *m)
{
	struct termios t;

	con->m = m;
	con->raw = 0;
	if (pipe(con->stop_pipe))
		return -1;
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &con->saved)) {
		t = con->saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		if (!tcsetattr(STDIN_FILENO, TCSANOW, &t))
			con->raw = 1;
	}
	return pthread_create(&con->thread, NULL, console_thread, con) ? -1 : 0;
}

static void console_stop(struct console *con)
{
	if (write(con->stop_pipe[1], "x", 1) < 0)
		perror("console");
	pthread_join(con->thread, NULL);
	if (con->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &con->saved);
	close(con->stop_pipe[0]);
	close(con->stop_pipe[1]);
}

/* SIGINT/SIGTERM end the run cleanly: a thread waits for them. */
struct sigwaiter {
	struct machine *m;
	sigset_t set;
	pthread_t thread;
	int got;
};

static void *sig_thread(void *arg)
{
	struct sigwaiter *w = arg;
	int sig;

	if (!sigwait(&w->set, &sig) && sig != SIGUSR2) {
		w->got = sig;
		machine_end(w->m, END_QUIT, -1, "interrupted by a signal");
	}
	return NULL;
}

/* Without fetch switching every write of a driver call traps, the kernel
 * code it calls included: where a trap is slow (nested emulation: a
 * million of them in one virtnet_open()) a correct call outlasts the
 * default hang limit and is unwound as a hang.  Say so once. */
static void hang_note(const struct run_opts *o, const struct machine *m)
{
	if (o->hang_given || !o->cfg.hang_ms || o->cfg.recover == RECOVER_OFF ||
	    !machine_protects_whole_calls(m))
		return;
	fprintf(stderr, "chariot: note: isolation write-protects whole driver "
		"calls here (the kernel code they call too): a slow but correct "
		"call longer than %u ms is taken for a hang and unwound; "
		"--hang-ms 0 turns the limit off\n", o->cfg.hang_ms);
}

static int exit_code(const struct machine_result *res, int signalled)
{
	switch (res->end) {
	case END_POWEROFF:
		return res->guest_status >= 0 ? res->guest_status : 0;
	case END_PANIC: return EXIT_GUEST_PANIC;
	case END_RESET: return EXIT_GUEST_RESET;
	case END_TIMEOUT: return EXIT_TIMEOUT;
	case END_QUIT: return signalled ? EXIT_INTERRUPTED : 0;
	default: return EXIT_VMM_ERROR;
	}
}

static int write_json(const char *path, const struct machine *m,
		      const struct machine_result *res)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f) {
		perror(path);
		return -1;
	}
	r = machine_report_json(m, res, f);
	if (fclose(f) || r) {
		fprintf(stderr, "chariot run: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

static void report_end(const struct machine_result *res)
{
	if (res->end == END_POWEROFF || res->end == END_QUIT)
		return;
	fprintf(stderr, "chariot: %s\n", res->msg);
	if (res->last_exits_vcpu >= 0 && res->last_exits[0])
		fprintf(stderr, "chariot: vCPU %d's last exits, oldest first: "
			"%s\n", res->last_exits_vcpu, res->last_exits);
}

static void report_isolation(struct machine *m)
{
	for (int i = 0; m->iso && i < m->cfg.nisolate; i++)
		if (!engine_module_loaded(m->iso, (unsigned int)i))
			fprintf(stderr, "chariot: --isolate %s: module never "
				"loaded in the guest\n", m->cfg.isolate[i]);
}

static void report_snapshot(const struct machine *m)
{
	const struct snap_info *s = &m->snap;

	if (s->action == SNAP_SAVE_FAILED)
		fprintf(stderr, "chariot: --snapshot: not saved: %s\n", s->why);
	else if (s->action == SNAP_SAVING)
		fprintf(stderr, "chariot: --snapshot: not saved: the guest "
			"never reached init\n");
	else if (s->action == SNAP_SAVED && s->why[0])
		fprintf(stderr, "chariot: --snapshot: %s\n", s->why);
}

int cmd_run(int argc, char **argv)
{
	static struct run_opts o;
	static struct machine m;
	struct machine_result res;
	struct sigwaiter sw = { .m = &m };
	struct console con;
	char err[512] = "";
	int interactive, r, code;

	r = parse(&o, argc, argv);
	if (r)
		return r > 0 ? 0 : EXIT_BAD_INPUT;
	if (!o.cfg.kernel || !o.cfg.initrd) {
		fputs("chariot run: cannot locate the default guest\n", stderr);
		return EXIT_BAD_INPUT;
	}
	sigemptyset(&sw.set);
	sigaddset(&sw.set, SIGINT);
	sigaddset(&sw.set, SIGTERM);
	sigaddset(&sw.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
	if (machine_create(&m, &o.cfg, err, sizeof(err))) {
		const char *why = strncmp(err, "bad input: ", 11) ? err : err + 11;

		fprintf(stderr, "chariot run: %s\n", why);
		machine_destroy(&m);
		free(o.site_buf);
		return EXIT_BAD_INPUT;
	}
	hang_note(&o, &m);
	interactive = o.cfg.argc == 0;
	pthread_create(&sw.thread, NULL, sig_thread, &sw);
	if (interactive && console_start(&con, &m))
		interactive = 0;
	machine_run(&m, &res);
	if (interactive)
		console_stop(&con);
	pthread_kill(sw.thread, SIGUSR2);
	pthread_join(sw.thread, NULL);
	report_end(&res);
	report_isolation(&m);
	report_snapshot(&m);
	code = exit_code(&res, sw.got);
	if (o.json && write_json(o.json, &m, &res) && !code)
		code = EXIT_VMM_ERROR;
	machine_destroy(&m);
	free(o.site_buf);
	return code;
}
