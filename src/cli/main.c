/* main.c - `chariot COMMAND ...`: dispatch to one file per command. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
	fputs("usage: chariot COMMAND [OPTIONS]\n"
	      "\n"
	      "Chariot is a KVM virtual machine monitor that boots a stock Debian\n"
	      "Linux guest and isolates chosen guest drivers.\n"
	      "\n"
	      "commands:\n"
	      "  run        boot the guest and run a command in it (or a shell)\n"
	      "  campaign   inject faults into a driver, unprotected and isolated\n"
	      "  report     merge campaign directories into one report\n"
	      "\n"
	      "`chariot COMMAND --help` describes each command.\n", f);
}

int cli_bad(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "chariot %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see chariot %s --help)\n", cmd);
	return -1;
}

int cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *cli_default_path(const char *rel, char *buf, unsigned long len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	snprintf(buf, len, "%s/%s", exe, rel);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "campaign"))
		return cmd_campaign(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc - 1, argv + 1);
	fprintf(stderr, "chariot: unknown command '%s' (see chariot --help)\n", argv[1]);
	return EXIT_BAD_INPUT;
}
