/* verdict.h - the decision on one trapped guest write, and the log of the
 * writes that were (or, in learn mode, would have been) denied.
 *
 * The rule, in order:
 *  1. an impossible access (unknown vCPU, length 0, range wraps) is denied;
 *  2. RIP in trusted kernel code: allowed;
 *  3. the writer's domain is the one whose code holds RIP, or, for code
 *     that is neither trusted nor any domain's, the domain active on the
 *     vCPU (the driver runs unknown code with its own rights); none: the
 *     write is not a driver's and is allowed;
 *  4. the target must lie wholly inside that domain's ACT: allowed; only
 *     partly: denied as partial; not at all: denied.
 * Judging by RIP before the vCPU's state means driver code reached without
 * an ENTER (a missed entry point, a task that moved vCPUs) is still held to
 * its ACT.  In learn mode a denial by rule 4 is allowed and logged as
 * learned.  The VMM must drain the update ring before calling. */
#ifndef CHARIOT_VERDICT_H
#define CHARIOT_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

struct iso;

enum verdict_reason {
	VERDICT_ALLOW_NO_DOMAIN,	/* no domain wrote */
	VERDICT_ALLOW_TRUSTED_CODE,	/* RIP in trusted code */
	VERDICT_ALLOW_ACT,		/* domain code writing inside its ACT */
	VERDICT_DENY_NOT_IN_ACT,	/* no byte of the target is granted */
	VERDICT_DENY_PARTIAL,		/* the target straddles the ACT's edge */
	VERDICT_DENY_INVALID,		/* impossible access (rule 1) */
	VERDICT_REASONS
};

struct verdict {
	bool allow;		/* perform the write (else drop it) */
	bool learned;		/* a denial allowed by learn mode */
	enum verdict_reason reason;
	int domain;		/* the domain charged with the write, or -1 */
};

#define VIOLATION_LOG_MAX	64

struct violation {
	int domain;		/* -1 for VERDICT_DENY_INVALID */
	unsigned int vcpu;
	uint64_t rip;		/* guest-virtual */
	uint64_t gpa;
	uint32_t len;
	enum verdict_reason reason;
	bool learned;
};

/* The first VIOLATION_LOG_MAX violations since the last clear (the first
 * is the cause, later ones mostly its consequences); the rest counted. */
struct violation_log {
	struct violation v[VIOLATION_LOG_MAX];
	unsigned int n;
	uint64_t dropped;
};

/* Judge a write of len bytes at gpa by the instruction at rip on vcpu;
 * counts it against the charged domain and logs a denial. */
struct verdict verdict_judge(struct iso *iso, unsigned int vcpu, uint64_t rip,
			     uint64_t gpa, uint32_t len);

/* "ALLOW_ACT", "DENY_PARTIAL", ...; "?" for an unknown value. */
const char *verdict_reason_name(enum verdict_reason reason);

void violation_log_clear(struct violation_log *log);

#endif
