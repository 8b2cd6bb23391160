/* recovery.c - the recovery mode, the hang rule, the guest's fault
 * records read and reported (recovery.h). */
#include <string.h>

#include "iso/recovery.h"
#include "vmm/json.h"

static const char *const mode_names[RECOVER_MODES] = {
	[RECOVER_OFF] = "off", [RECOVER_UNLOAD] = "unload",
	[RECOVER_RELOAD] = "reload",
};

int recover_mode_parse(const char *s)
{
	for (int m = 0; s && m < RECOVER_MODES; m++)
		if (!strcmp(s, mode_names[m]))
			return m;
	return -1;
}

const char *recover_mode_name(enum recover_mode m)
{
	return (unsigned int)m < RECOVER_MODES ? mode_names[m] : "?";
}

bool recover_hung(uint64_t entered_ns, uint64_t now_ns, unsigned int hang_ms)
{
	return hang_ms && entered_ns && now_ns > entered_ns &&
	       now_ns - entered_ns > (uint64_t)hang_ms * 1000000;
}

/* The area, whole and set up by the guest, or NULL. */
static const struct chariot_recovery *header(const void *area, size_t len)
{
	const struct chariot_recovery *r = area;

	if (!area || len < sizeof(*r) ||
	    __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) !=
	    CHARIOT_RECOVERY_MAGIC)
		return NULL;
	return r;
}

uint64_t recover_entry(const void *area, size_t len)
{
	const struct chariot_recovery *r = header(area, len);

	return r ? __atomic_load_n(&r->entry, __ATOMIC_RELAXED) : 0;
}

const char *recover_source_name(int detected_by)
{
	switch (detected_by) {
	case CHARIOT_FAULT_WRITE: return "write";
	case CHARIOT_FAULT_EXCEPTION: return "exception";
	case CHARIOT_FAULT_HANG: return "hang";
	case CHARIOT_FAULT_OPERATOR: return "operator";
	case CHARIOT_FAULT_LOCK: return "lock";
	default: return NULL;
	}
}

/* A copy of the guest's symbol: up to its NUL or the end, printable. */
static void copy_symbol(char *out, const char *in)
{
	size_t i;

	for (i = 0; i < CHARIOT_FAULT_SYMBOL_LEN - 1 && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

unsigned int recover_read(const void *area, size_t len, unsigned int nmodules,
			  struct recover_fault *out, unsigned int max,
			  unsigned int *rejected)
{
	const struct chariot_recovery *r = header(area, len);
	unsigned int n, got = 0, bad = 0;

	if (!r) {
		if (rejected)
			*rejected = 0;
		return 0;
	}
	n = __atomic_load_n(&r->nfaults, __ATOMIC_ACQUIRE);
	if (n > CHARIOT_FAULTS_MAX)
		n = CHARIOT_FAULTS_MAX;
	for (unsigned int i = 0; i < n && got < max; i++) {
		struct chariot_fault f;

		memcpy(&f, &r->fault[i], sizeof(f));	/* read once */
		if (f.domain >= nmodules || !recover_source_name(f.detected_by)) {
			bad++;
			continue;
		}
		out[got] = (struct recover_fault){
			.domain = f.domain, .detected_by = f.detected_by,
			.flags = f.flags, .recovery_us = f.recovery_us,
			.rip = f.rip,
		};
		copy_symbol(out[got].symbol, f.symbol);
		got++;
	}
	if (rejected)
		*rejected = bad;
	return got;
}

static const char *yes(unsigned int flags, unsigned int bit)
{
	return flags & bit ? "true" : "false";
}

void recover_json(FILE *f, const struct recover_fault *faults, unsigned int n,
		  const char *const *modules)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct recover_fault *x = &faults[i];
		unsigned int fl = x->flags;

		fputs(i ? ",\n    {\"module\": " : "\n    {\"module\": ", f);
		json_string(f, modules[x->domain]);
		fputs(", \"detected_by\": ", f);
		json_string(f, recover_source_name(x->detected_by));
		fprintf(f, ", \"rip\": \"0x%llx\", \"symbol\": ",
			(unsigned long long)x->rip);
		json_string(f, x->symbol[0] ? x->symbol : NULL);
		fprintf(f, ", \"unwound\": %s, \"unloaded\": %s, "
			"\"reloaded\": %s, \"service_restored\": %s, "
			"\"deterministic\": %s, \"followup\": %s, ",
			yes(fl, CHARIOT_FAULT_UNWOUND),
			yes(fl, CHARIOT_FAULT_UNLOADED),
			yes(fl, CHARIOT_FAULT_RELOADED),
			yes(fl, CHARIOT_FAULT_RESTORED),
			yes(fl, CHARIOT_FAULT_DETERMINISTIC),
			yes(fl, CHARIOT_FAULT_FOLLOWUP));
		if (fl & CHARIOT_FAULT_DONE)
			fprintf(f, "\"recovery_ms\": %.1f}",
				(double)x->recovery_us / 1e3);
		else
			fputs("\"recovery_ms\": null}", f);
	}
}
