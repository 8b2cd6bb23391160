/* cli.h - the chariot commands. Only the CLI prints usage and exits. */
#ifndef CHARIOT_CLI_H
#define CHARIOT_CLI_H

/* Exit codes shared by the commands (documented in --help). */
#define EXIT_BAD_INPUT		2
#define EXIT_GUEST_PANIC	120
#define EXIT_GUEST_RESET	121
#define EXIT_VMM_ERROR		122
#define EXIT_TIMEOUT		124
#define EXIT_INTERRUPTED	130

int cmd_run(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* "chariot CMD: " fmt (with arg) " (see chariot CMD --help)" on stderr;
 * returns -1. */
int cli_bad(const char *cmd, const char *fmt, const char *arg);

/* Parse a whole decimal number in [min, max]; 0 or -1. */
int cli_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out);

/* Path of a file shipped beside the binary (build/...), in buf. */
const char *cli_default_path(const char *rel, char *buf, unsigned long len);

#endif
