/* verdict.c - the one place a trapped write is judged (rules in
 * verdict.h). */
#include <string.h>

#include "iso/domain.h"
#include "iso/verdict.h"

static const char *const reason_names[VERDICT_REASONS] = {
	[VERDICT_ALLOW_NO_DOMAIN] = "ALLOW_NO_DOMAIN",
	[VERDICT_ALLOW_TRUSTED_CODE] = "ALLOW_TRUSTED_CODE",
	[VERDICT_ALLOW_ACT] = "ALLOW_ACT",
	[VERDICT_DENY_NOT_IN_ACT] = "DENY_NOT_IN_ACT",
	[VERDICT_DENY_PARTIAL] = "DENY_PARTIAL",
	[VERDICT_DENY_INVALID] = "DENY_INVALID",
};

const char *verdict_reason_name(enum verdict_reason reason)
{
	return (unsigned int)reason < VERDICT_REASONS ? reason_names[reason]
						       : "?";
}

void violation_log_clear(struct violation_log *log)
{
	memset(log, 0, sizeof(*log));
}

static void log_violation(struct violation_log *log,
			  const struct violation *v)
{
	if (log->n == VIOLATION_LOG_MAX) {
		log->dropped++;
		return;
	}
	log->v[log->n++] = *v;
}

/* Rules 2-4 for a possible access; *charged is the writer's domain (for a
 * trusted write, the one active on the vCPU) or NULL. */
static enum verdict_reason judge(struct iso *iso, unsigned int vcpu,
				 uint64_t rip, uint64_t gpa, uint32_t len,
				 struct domain **charged)
{
	struct domain *owner = iso_domain_of_rip(iso, rip);

	*charged = owner ? owner : iso_active(iso, vcpu);
	if (!owner && iso_rip_trusted(iso, rip))
		return VERDICT_ALLOW_TRUSTED_CODE;
	if (!*charged)
		return VERDICT_ALLOW_NO_DOMAIN;
	switch (act_coverage(&(*charged)->act, gpa, len)) {
	case ACT_FULL:
		return VERDICT_ALLOW_ACT;
	case ACT_PARTIAL:
		return VERDICT_DENY_PARTIAL;
	default:
		return VERDICT_DENY_NOT_IN_ACT;
	}
}

static void count(struct domain *d, const struct verdict *v)
{
	if (!d)
		return;
	d->stats.trapped_writes++;
	if (v->allow)
		d->stats.allowed++;
	else
		d->stats.denied++;
	if (v->learned)
		d->stats.learned++;
}

struct verdict verdict_judge(struct iso *iso, unsigned int vcpu, uint64_t rip,
			     uint64_t gpa, uint32_t len)
{
	struct verdict v = { .domain = -1 };
	struct domain *d = NULL;

	if (vcpu >= iso->cfg.vcpus || !len || len > UINT64_MAX - gpa) {
		v.reason = VERDICT_DENY_INVALID;
	} else {
		v.reason = judge(iso, vcpu, rip, gpa, len, &d);
		v.allow = v.reason < VERDICT_DENY_NOT_IN_ACT;
		v.learned = !v.allow && iso->cfg.learn;
		v.allow |= v.learned;
	}
	if (d)
		v.domain = (int)d->id;
	count(d, &v);
	if (!v.allow || v.learned)
		log_violation(&iso->log, &(struct violation){
			.domain = v.domain, .vcpu = vcpu, .rip = rip,
			.gpa = gpa, .len = len, .reason = v.reason,
			.learned = v.learned });
	return v;
}
