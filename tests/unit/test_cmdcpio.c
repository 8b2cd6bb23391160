/* Unit tests for the command archive: parsed back as newc, and its script
 * run through /bin/sh to check that every argument arrives verbatim. */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "vmm/cmdcpio.h"

struct entry {
	char name[64];
	unsigned long mode;
	const uint8_t *data;
	size_t size;
};

static unsigned long hex8(const uint8_t *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = 0;
	return strtoul(s, NULL, 16);
}

/* Parses a newc archive into e[]; returns the entry count or -1. */
static int parse_newc(const uint8_t *p, size_t len, struct entry *e, int max)
{
	size_t off = 0;
	int n = 0;

	while (n < max && off + 110 <= len) {
		const uint8_t *h = p + off;
		size_t namesize = hex8(h + 94);

		if (memcmp(h, "070701", 6) || off + 110 + namesize > len ||
		    namesize > sizeof(e[n].name) || h[110 + namesize - 1])
			return -1;
		memcpy(e[n].name, h + 110, namesize);
		e[n].mode = hex8(h + 14);
		e[n].size = hex8(h + 54);
		off = (off + 110 + namesize + 3) & ~(size_t)3;
		e[n].data = p + off;
		off = (off + e[n].size + 3) & ~(size_t)3;
		if (off > len)
			return -1;
		if (!strcmp(e[n++].name, "TRAILER!!!"))
			return off == len ? n : -1;
	}
	return -1;
}

/* Runs script with sh -c; its stdout into out; returns the exit status. */
static int run_sh(const char *script, char *out, size_t max)
{
	int fd[2], status;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (got < max - 1 && (r = read(fd[0], out + got, max - 1 - got)) > 0)
		got += r;
	out[got] = 0;
	close(fd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(cmdcpio_archive_layout)
{
	char *const argv[] = { "echo", "a b" };
	struct entry e[4];
	uint8_t *buf = NULL;
	size_t len = 0;

	CHECK_EQ(cmdcpio_build(2, argv, &buf, &len), 0);
	CHECK_EQ(len % 4, 0);
	CHECK_EQ(parse_newc(buf, len, e, 4), 3);
	CHECK(!strcmp(e[0].name, "chariot"));
	CHECK_EQ(e[0].mode, 0040755);
	CHECK(!strcmp(e[1].name, "chariot/cmd"));
	CHECK_EQ(e[1].mode, 0100755);
	CHECK_EQ(e[1].size, strlen("#!/bin/sh\n'echo' 'a b'\n"));
	CHECK(!memcmp(e[1].data, "#!/bin/sh\n'echo' 'a b'\n", e[1].size));
	CHECK(!strcmp(e[2].name, "TRAILER!!!"));
	free(buf);
}

TEST(cmdcpio_no_command)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	CHECK_EQ(cmdcpio_build(0, NULL, &buf, &len), -EINVAL);
	CHECK(cmdcpio_script(0, NULL) == NULL);
}

TEST(cmdcpio_quoting_survives_sh)
{
	char *const argv[] = {
		"printf", "[%s]\\n", "a b", "it's", "'", "''", "\"q\"",
		"$HOME", "`false`", "$(exit 9)", "\\", "", "new\nline", "*",
		"-n", "a;b|c&d>e", "~", "#x", "\t",
	};
	int argc = sizeof(argv) / sizeof(argv[0]);
	char expect[512] = "", out[512];
	char *script = cmdcpio_script(argc, argv);

	for (int i = 2; i < argc; i++)
		snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect),
			 "[%s]\n", argv[i]);
	CHECK(script != NULL);
	if (!script)
		return;
	CHECK_EQ(run_sh(script, out, sizeof(out)), 0);
	if (strcmp(out, expect)) {
		fprintf(stderr, "  got:\n%s  expected:\n%s", out, expect);
		*failed = 1;
	}
	free(script);
}

TEST(cmdcpio_exit_status_and_shell_words)
{
	char *const argv[] = { "sh", "-c", "echo \"a b\"; exit 3" };
	char out[64];
	char *script = cmdcpio_script(3, argv);

	CHECK(script != NULL);
	if (!script)
		return;
	CHECK_EQ(run_sh(script, out, sizeof(out)), 3);
	CHECK(!strcmp(out, "a b\n"));
	free(script);
}
