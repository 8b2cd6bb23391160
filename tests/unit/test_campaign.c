/* Unit tests for the campaign (src/campaign/): the JSON reader, the fault
 * plan's determinism, the classifier on recorded run reports and consoles,
 * results.jsonl written, torn and resumed, shard-and-merge against one
 * whole campaign, the summary's rates and keys, report.md's table, and the
 * runner end to end with tests/unit/fake-chariot.sh standing in for
 * `chariot run` (interrupted, then resumed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign/jsonr.h"
#include "campaign/plan.h"
#include "campaign/report.h"
#include "campaign/runner.h"
#include "campaign/sites.h"
#include "vmm/boot.h"
#include "test.h"

#define FAKE	"tests/unit/fake-chariot.sh"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/chariot-campaign-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rmtree(const char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd))
		fprintf(stderr, "  cannot remove %s\n", d);
}

/* --- the JSON reader ------------------------------------------------ */

TEST(campaign_jsonr_reads_reports)
{
	static const char text[] =
		" {\"a\": [1, 2.5, -3], \"s\": \"x\\\"y\\n\\u00e9\", \"t\": true,"
		" \"n\": null, \"big\": 18446744073709551615, \"o\": {\"k\": \"0x10\"}} ";
	struct jdoc d;
	const struct jnode *root, *a;

	CHECK_EQ(jsonr_parse(text, strlen(text), &d), 0);
	root = jsonr_root(&d);
	CHECK(root && root->type == J_OBJ);
	a = jsonr_first(&d, jsonr_get(&d, root, "a"));
	CHECK(a && jsonr_num(a, 0) == 1);
	a = jsonr_next(&d, a);
	CHECK(a && jsonr_num(a, 0) == 2.5);
	CHECK(!strcmp(jsonr_str(jsonr_get(&d, root, "s"), ""), "x\"y\n\xc3\xa9"));
	CHECK_EQ(jsonr_bool(jsonr_get(&d, root, "t"), -1), 1);
	CHECK_EQ(jsonr_bool(jsonr_get(&d, root, "n"), -1), -1);
	CHECK(jsonr_u64(jsonr_get(&d, root, "big"), 0) == ~0ull);
	CHECK_EQ(jsonr_u64(jsonr_get(&d, jsonr_get(&d, root, "o"), "k"), 0), 16);
	CHECK(!jsonr_get(&d, root, "missing"));
	jsonr_free(&d);
}

/* Found by tests/fuzz/fuzz_results.c: a damaged results line's
 * "status": 1.7e12 was cast to int, undefined; numbers out of a field's
 * range now read as the field's default. */
TEST(campaign_jsonr_int_in_range_or_default)
{
	static const char text[] =
		"{\"a\": 2147483647.9, \"b\": 2147483648, \"c\": -2147483648,"
		" \"d\": -1e300, \"e\": 1e300, \"f\": \"7\", \"g\": 1e20}";
	static const char line[] =
		"{\"driver\":\"d\",\"run\":\"native\",\"class\":\"crash\","
		"\"status\":1.7e12,\"site\":-1e300,\"nsites\":3.9}";
	struct run_result r;
	struct jdoc d;
	const struct jnode *o;

	CHECK_EQ(jsonr_parse(text, strlen(text), &d), 0);
	o = jsonr_root(&d);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "a"), INT_MIN, INT_MAX, -1),
		 INT_MAX);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "b"), INT_MIN, INT_MAX, -1), -1);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "c"), INT_MIN, INT_MAX, -1),
		 INT_MIN);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "d"), LONG_MIN, LONG_MAX, 5), 5);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "e"), LONG_MIN, LONG_MAX, 5), 5);
	CHECK_EQ(jsonr_int(jsonr_get(&d, o, "f"), LONG_MIN, LONG_MAX, 5), 5);
	CHECK(jsonr_u64(jsonr_get(&d, o, "g"), 9) == 9);
	jsonr_free(&d);
	CHECK_EQ(results_parse_line(line, strlen(line), &r), 0);
	CHECK_EQ(r.status, -1);
	CHECK_EQ(r.site, -1);
	CHECK_EQ(r.nsites, 3);
}

/* 1e999 is JSON but no double: read as absent, never as inf, which the
 * results writer would print as "inf", a line nothing parses back (found
 * by fuzz_results in CI). */
TEST(campaign_jsonr_number_out_of_range)
{
	static const char line[] =
		"{\"driver\":\"d\",\"run\":\"clean\",\"class\":\"clean\","
		"\"wall_ms\":1e999}";
	static const char text[] = "[-1e999, 1e-999, 0, -0.0, 2.5E+3]";
	struct run_result r, again;
	const struct jnode *x;
	char buf[1024];
	FILE *f;
	struct jdoc d;
	size_t n;

	CHECK_EQ(jsonr_parse(text, strlen(text), &d), 0);
	x = jsonr_first(&d, jsonr_root(&d));
	CHECK(jsonr_num(x, 7) == 7);
	x = jsonr_next(&d, x);
	CHECK(jsonr_num(x, 7) == 0);
	x = jsonr_next(&d, jsonr_next(&d, jsonr_next(&d, x)));
	CHECK(jsonr_num(x, 7) == 2500);
	jsonr_free(&d);

	CHECK_EQ(results_parse_line(line, strlen(line), &r), 0);
	CHECK(r.wall_ms == 0);
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f != NULL);
	results_format(&r, f);
	n = (size_t)ftell(f);
	fclose(f);
	CHECK(n > 1 && n < sizeof(buf) && buf[n - 1] == '\n');
	CHECK_EQ(results_parse_line(buf, n - 1, &again), 0);
}

TEST(campaign_jsonr_rejects_garbage)
{
	static const char *const bad[] = {
		"", "{", "{\"a\" 1}", "[1,]", "{\"a\":1} x", "\"abc", "tru",
		"{\"a\":\"\x01\"}", "[1 2]",
		/* numbers strtod takes and JSON does not */
		"-inf", "[-infinity]", "-nan", "[0x10]", "[-0x1p3]", "[01]",
		"[1.]", "[.5]", "[1e]", "[+1]", "[-]", "[1.5e+]",
	};
	struct jdoc d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(jsonr_parse(bad[i], strlen(bad[i]), &d), -EINVAL);
}

/* --- the plan ------------------------------------------------------- */

/* The offsets a --cover report lists, one per line; none, or no cover
 * member, is an error the campaign reports. */
TEST(campaign_sites_from_cover_report)
{
	static const char ok[] = "{\"end\": \"poweroff\", \"inject\": "
		"{\"module\": \"brd\", \"cover\": {\"armed\": 9, "
		"\"ran\": 3, \"sites\": [\n 0,5,4096]}}}";
	static const char none[] = "{\"inject\": {\"cover\": "
		"{\"armed\": 9, \"ran\": 0, \"sites\": []}}}";
	static const char fault[] = "{\"inject\": {\"cover\": null}}";
	static const char neg[] = "{\"inject\": {\"cover\": "
		"{\"sites\": [1, -2]}}}";
	char buf[64] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!f)
		return;
	CHECK_EQ(sites_from_report(ok, strlen(ok), f), 3);
	fclose(f);
	CHECK(!strcmp(buf, "0\n5\n4096\n"));
	CHECK_EQ(sites_from_report(none, strlen(none), stderr), -ENOENT);
	CHECK_EQ(sites_from_report(fault, strlen(fault), stderr), -EINVAL);
	CHECK_EQ(sites_from_report(neg, strlen(neg), stderr), -EINVAL);
	CHECK_EQ(sites_from_report("{", 1, stderr), -EINVAL);
}

TEST(campaign_plan_is_deterministic)
{
	struct plan_types all, some;
	struct plan_fault a, b;
	char bad[64];
	int differ = 0, seen[FAULT_NTYPES] = { 0 };

	CHECK_EQ(plan_parse_types("all", &all, bad, sizeof(bad)), 0);
	CHECK_EQ(all.n, FAULT_NTYPES);
	for (unsigned i = 0; i < 200; i++) {
		plan_fault(42, &all, i, &a);
		plan_fault(42, &all, i, &b);
		CHECK(a.type == b.type && a.seed == b.seed && a.index == i);
		CHECK(a.seed < (1ull << 32));
		seen[a.type]++;
		plan_fault(43, &all, i, &b);
		differ += a.type != b.type || a.seed != b.seed;
	}
	CHECK(differ > 150);
	for (int t = 0; t < FAULT_NTYPES; t++)
		CHECK(seen[t] > 0);	/* 200 draws reach every type */
	CHECK_EQ(plan_parse_types("branch-invert,sync", &some, bad, sizeof(bad)), 0);
	CHECK_EQ(some.n, 2);
	for (unsigned i = 0; i < 50; i++) {
		plan_fault(7, &some, i, &a);
		CHECK(a.type == FAULT_BRANCH_INVERT || a.type == FAULT_SYNC);
	}
}

TEST(campaign_plan_rejects_bad_types)
{
	struct plan_types ts;
	char bad[64];

	CHECK_EQ(plan_parse_types("sync,nope", &ts, bad, sizeof(bad)), -EINVAL);
	CHECK(!strcmp(bad, "nope"));
	CHECK_EQ(plan_parse_types("sync,sync", &ts, bad, sizeof(bad)), -EINVAL);
	CHECK_EQ(plan_parse_types("", &ts, bad, sizeof(bad)), -EINVAL);
	CHECK_EQ(plan_parse_types("sync,", &ts, bad, sizeof(bad)), -EINVAL);
	CHECK(plan_in_shard(5, 1, 2) && !plan_in_shard(5, 0, 2) && plan_in_shard(5, 0, 1));
}

/* --- the classifier ------------------------------------------------- */

#define INJ(applied, activated) \
	"\"inject\": {\"module\": \"brd\", \"type\": \"branch-invert\", \"seed\": 5," \
	" \"applied\": " applied ", \"error\": null, \"addr\": \"0xffffffffc0001000\"," \
	" \"site\": 2, \"nsites\": 9, \"what\": \"je -> jne\", \"activated\": " activated "}"

static enum run_class judge(enum run_kind k, const char *json, const char *console,
			    struct verdict *v)
{
	struct run_evidence ev;

	classify_run(k, json, strlen(json), console, strlen(console), &ev, v);
	return v->cls;
}

TEST(campaign_classify_native)
{
	struct verdict v;

	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"panic\", \"guest_status\": null, "
		       INJ("true", "true") "}", "Kernel panic - not syncing", &v), CLS_CRASH);
	CHECK(!strcmp(v.reason, "guest kernel panic"));
	/* the hung-task detector's panic (WORKLOAD_NATIVE_APPEND): a hang */
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"panic\", \"guest_status\": null, "
		       INJ("true", "true") "}", "INFO: task dd:97 blocked for more than "
		       "60 seconds.\nKernel panic - not syncing: hung_task: blocked tasks",
		       &v), CLS_CRASH);
	CHECK(strstr(v.reason, "guest hung"));
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") "}",
		       "BUG: kernel NULL pointer dereference, address: 0\nOops: 0000 [#1] SMP\n",
		       &v), CLS_CRASH);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"timeout\", \"guest_status\": null, "
		       INJ("true", "true") "}", "", &v), CLS_CRASH);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 11, "
		       INJ("true", "true") "}", "chariot-campaign: workload status=11\n",
		       &v), CLS_NONFATAL);
	CHECK(strstr(v.reason, "status 11"));
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") "}",
		       WORKLOAD_RETRY_MARK " (status 12), retrying\n", &v), CLS_NONFATAL);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") "}", "fs-intact\n", &v), CLS_SILENT);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "null") "}", "fs-intact\n", &v), CLS_SILENT);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       "\"inject\": {\"applied\": false, \"error\": \"no site for sync\"}}",
		       "", &v), CLS_NOT_ACTIVATED);
	CHECK(strstr(v.reason, "no site for sync"));
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "false") "}", "", &v), CLS_NOT_ACTIVATED);
	CHECK_EQ(judge(RUN_NATIVE, "", "", &v), CLS_ERROR);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"internal-error\", \"guest_status\": null, "
		       INJ("true", "true") "}", "", &v), CLS_ERROR);
	CHECK_EQ(judge(RUN_NATIVE, "{\"end\": \"poweroff\", \"guest_status\": 0}", "",
		       &v), CLS_ERROR);
}

TEST(campaign_classify_isolated)
{
	struct verdict v;

	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") ", \"faults\": [{\"module\": \"brd\", "
		       "\"detected_by\": \"write\", \"unloaded\": true, \"reloaded\": true, "
		       "\"service_restored\": true}]}", "", &v), CLS_ISOLATED);
	CHECK(v.detected && v.restored);
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"poweroff\", \"guest_status\": 12, "
		       INJ("true", "true") ", \"faults\": [{\"module\": \"brd\", "
		       "\"unloaded\": true, \"reloaded\": false}]}", "", &v), CLS_ISOLATED);
	CHECK(v.detected && !v.restored);
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") ", \"domains\": [{\"module\": \"brd\", "
		       "\"denied\": 2}], \"violations\": [{\"module\": \"brd\", \"rip\": "
		       "\"0x1\", \"verdict\": \"denied\"}]}", "", &v), CLS_CAPTURED);
	CHECK(v.detected && v.restored);
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"panic\", \"guest_status\": null, "
		       INJ("true", "true") ", \"faults\": [{\"module\": \"brd\", "
		       "\"unloaded\": true}]}", "", &v), CLS_CAPTURED);
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") ", \"domains\": [{\"module\": \"brd\", "
		       "\"denied\": 0}], \"violations\": []}", "", &v), CLS_MISSED);
	CHECK(!v.detected && !v.restored && !strcmp(v.reason, "not detected"));
	/* not detected and the guest died: missed, and the reason says how */
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"timeout\", \"guest_status\": null, "
		       INJ("true", "true") "}", "", &v), CLS_MISSED);
	CHECK(strstr(v.reason, "did not survive (end timeout)"));
	CHECK_EQ(judge(RUN_ISOLATED, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       INJ("true", "true") "}", "Oops: 0000 [#1] SMP\n", &v), CLS_MISSED);
	CHECK(strstr(v.reason, "poweroff, oops"));
}

TEST(campaign_classify_clean)
{
	struct verdict v;

	CHECK_EQ(judge(RUN_CLEAN, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       "\"violations\": []}", "", &v), CLS_CLEAN);
	CHECK(v.restored && !strcmp(v.reason, "no alarm"));
	CHECK_EQ(judge(RUN_CLEAN, "{\"end\": \"poweroff\", \"guest_status\": 0}",
		       "WARNING: CPU: 0 PID: 1 at mm/slab.c:1\n", &v), CLS_CLEAN);
	CHECK(strstr(v.reason, "WARNING without a fault"));
	CHECK_EQ(judge(RUN_CLEAN, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       "\"violations\": [{\"module\": \"brd\", \"verdict\": \"denied\"}]}",
		       "", &v), CLS_FALSE_ALARM);
	CHECK_EQ(judge(RUN_CLEAN, "{\"end\": \"poweroff\", \"guest_status\": 0, "
		       "\"faults\": [{\"module\": \"brd\"}]}", "", &v), CLS_FALSE_ALARM);
}

TEST(campaign_workloads)
{
	char cmd[8192];
	const struct workload *w = workload_find("null-blk");

	CHECK(w && !strcmp(w->driver, "null_blk"));
	CHECK(!workload_find("e1000"));
	CHECK(workload_find("virtio_blk") && workload_find("virtio_blk")->disk_mib);
	CHECK(workload_find("virtio_net") && workload_find("virtio_net")->net_pair);
	CHECK(workload_find("chariot_buggy") && workload_find("brd"));
	CHECK_EQ(workload_command(w, cmd, sizeof(cmd)), 0);
	CHECK(strstr(cmd, w->body) && strstr(cmd, WORKLOAD_RETRY_MARK) &&
	      strstr(cmd, WORKLOAD_DONE_MARK));
	/* the kernel log is read from the monitor's first line on (the boot's
	 * own WARNINGs are no fault's), not from the command line that names
	 * chariot_monitor.watch= */
	CHECK(strstr(cmd, "'/chariot_monitor: /,$p'"));
	/* the check never loads another instance of a boot-loaded driver */
	CHECK(!strstr(workload_find("brd")->body, "modprobe"));
	CHECK_EQ(workload_command(w, cmd, 64), -ENOSPC);
	/* every workload's whole command is valid sh; an unprotected run is
	 * given past its check's own bounds (two attempts of blk-mq's 30 s,
	 * of nc's 120 s) before it counts as hung */
	for (size_t i = 0; (w = workload_at(i)); i++) {
		FILE *sh = popen("sh -n", "w");

		CHECK(w->native_s >= (w->net_pair ? 2 * 120 : 2 * 30) + 30);

		CHECK_EQ(workload_command(w, cmd, sizeof(cmd)), 0);
		CHECK(sh != NULL);
		if (!sh)
			continue;
		fputs(cmd, sh);
		CHECK_EQ(pclose(sh), 0);
	}
}

/* An unprotected run's own bound and kernel detectors; the others keep
 * the campaign's --timeout and the default command line. */
TEST(campaign_native_runs_end_sooner)
{
	struct campaign_cfg c = { .w = workload_find("null_blk"), .timeout_s = 300 };
	const char *a = campaign_run_append(RUN_NATIVE);

	CHECK(c.w != NULL);
	if (!c.w)
		return;
	CHECK_EQ(campaign_run_timeout(&c, RUN_NATIVE), c.w->native_s);
	CHECK(c.w->native_s < 300);
	CHECK_EQ(campaign_run_timeout(&c, RUN_ISOLATED), 300);
	CHECK_EQ(campaign_run_timeout(&c, RUN_CLEAN), 300);
	c.timeout_s = 30;	/* a shorter --timeout wins */
	CHECK_EQ(campaign_run_timeout(&c, RUN_NATIVE), 30);
	CHECK(a && !strncmp(a, BOOT_DEFAULT_APPEND " ", strlen(BOOT_DEFAULT_APPEND) + 1));
	CHECK(a && strstr(a, "oops=panic") && strstr(a, "softlockup_panic=1") &&
	      strstr(a, "hung_task_panic=1") &&
	      strstr(a, "sysctl.kernel.hung_task_timeout_secs=60") &&
	      strstr(a, "sysctl.kernel.panic_on_rcu_stall=1"));
	CHECK(!campaign_run_append(RUN_ISOLATED) && !campaign_run_append(RUN_CLEAN));
}

/* --- results.jsonl --------------------------------------------------- */

/* Synthetic runs of a campaign of n faults and k clean runs: native class
 * by i % 4 (crash, nonfatal, silent, not_activated), isolated by i % 3. */
static size_t synth(struct run_result *rs, unsigned n, unsigned k)
{
	static const enum run_class nat[] = { CLS_CRASH, CLS_NONFATAL, CLS_SILENT,
					      CLS_NOT_ACTIVATED };
	static const enum run_class iso[] = { CLS_ISOLATED, CLS_CAPTURED, CLS_MISSED };
	size_t m = 0;

	for (unsigned i = 0; i < n + k; i++) {
		struct run_result r = { .campaign_seed = 9, .index = i, .status = 0,
					.site = -1, .nsites = -1, .applied = 1,
					.activated = -1 };

		strcpy(r.driver, "brd");
		r.t0_ms = 1000 + i * 100;
		r.t1_ms = r.t0_ms + 150;	/* overlapping, as with --jobs 2 */
		if (i >= n) {
			r.kind = RUN_CLEAN;
			r.index = i - n;
			r.type = -1;
			r.cls = r.index == 1 ? CLS_FALSE_ALARM : CLS_CLEAN;
			r.restored = r.index != 2;	/* clean 2: workload failed */
			rs[m++] = r;
			continue;
		}
		r.kind = RUN_NATIVE;
		r.type = (int)(i % FAULT_NTYPES);
		r.seed = i * 7;
		r.cls = nat[i % 4];
		rs[m++] = r;
		r.kind = RUN_ISOLATED;
		r.cls = r.cls == CLS_NOT_ACTIVATED ? CLS_SKIPPED : iso[i % 3];
		r.restored = r.cls != CLS_MISSED && i % 2;
		r.t0_ms += 50;
		rs[m++] = r;
	}
	return m;
}

static int write_results(const char *path, const struct run_result *rs, size_t n,
			 unsigned shard, unsigned nshards)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = 0;

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && !e; i++)
		if (plan_in_shard(rs[i].index, shard, nshards))
			e = results_append(fd, &rs[i]);
	close(fd);
	return e;
}

TEST(campaign_results_roundtrip_and_torn_line)
{
	struct run_result rs[8], *got = NULL;
	size_t n = synth(rs, 3, 1), ng = 0, skipped;
	char *d = tmpdir(), path[256];
	struct stat st;
	off_t whole;
	FILE *f;

	CHECK(d != NULL);
	if (!d)
		return;
	snprintf(path, sizeof(path), "%s/" RESULTS_FILE, d);
	strcpy(rs[0].reason, "quote \" and\nnewline");
	CHECK_EQ(write_results(path, rs, n, 0, 1), 0);
	stat(path, &st);
	whole = st.st_size;
	f = fopen(path, "a");	/* a run killed mid-write */
	fputs("{\"driver\":\"brd\",\"campaign_seed\":9,\"run\":\"nat", f);
	fclose(f);
	CHECK_EQ(results_load(path, false, &got, &ng, &skipped), 0);
	CHECK_EQ(ng, n);
	CHECK_EQ(skipped, 1);
	stat(path, &st);
	CHECK(st.st_size > whole);	/* read-only load leaves the file */
	CHECK(ng == n && !strcmp(got[0].reason, rs[0].reason));
	CHECK(ng == n && got[2].kind == rs[2].kind && got[2].cls == rs[2].cls &&
	      got[2].type == rs[2].type && got[2].seed == rs[2].seed &&
	      got[2].t0_ms == rs[2].t0_ms && got[n - 1].type == -1);
	free(got);
	got = NULL;
	ng = 0;
	CHECK_EQ(results_load(path, true, &got, &ng, &skipped), 0);
	CHECK_EQ(ng, n);
	stat(path, &st);
	CHECK_EQ(st.st_size, whole);	/* --resume cut the torn line off */
	CHECK(results_find(got, ng, RUN_ISOLATED, 1) != NULL);
	CHECK(results_find(got, ng, RUN_CLEAN, 1) == NULL);
	free(got);
	rmtree(d);
	free(d);
}

/* --- summary, merge, report ----------------------------------------- */

TEST(campaign_summary_rates)
{
	struct run_result rs[64];
	size_t n = synth(rs, 24, 4);
	struct summary s;
	double r;

	CHECK_EQ(summary_build(rs, n, &s), 0);
	CHECK_EQ(s.faults, 24);
	CHECK_EQ(s.all.native[NAT_CRASH], 6);
	CHECK_EQ(s.all.native[NAT_NOT_ACTIVATED], 6);
	/* crash faults are i = 0, 4, 8, 12, 16, 20: i % 3 = 0,1,2,0,1,2 */
	CHECK_EQ(s.all.iso[NAT_CRASH][ISO_ISOLATED], 2);
	CHECK_EQ(s.all.iso[NAT_CRASH][ISO_CAPTURED], 2);
	CHECK_EQ(s.all.iso[NAT_CRASH][ISO_MISSED], 2);
	CHECK(summary_rate(&s.all, NAT_CRASH, &r) && r > 0.333 && r < 0.334);
	CHECK_EQ(s.clean_runs, 4);
	CHECK_EQ(s.false_alarms, 1);
	CHECK_EQ(s.clean_failed, 1);
	CHECK_EQ(s.injections, 48);
	/* runs overlap back to back: one busy stretch, 1000 .. last t1 */
	CHECK(s.busy_ms == (double)(1000 + 27 * 100 + 150 - 1000));
	CHECK(summary_ipm(&s) > 0);
	/* a run read twice (merged directories overlap) counts once */
	memcpy(rs + n, rs, 4 * sizeof(rs[0]));
	CHECK_EQ(summary_build(rs, n + 4, &s), 0);
	CHECK_EQ(s.faults, 24);
	CHECK(s.seed_known && s.seed == 9 && !strcmp(s.driver, "brd"));
	/* another campaign merged in: its faults are other faults */
	for (size_t i = 0; i < 4; i++)
		strcpy(rs[n + i].driver, "null_blk");
	rs[n + 3].campaign_seed = 10;
	CHECK_EQ(summary_build(rs, n + 4, &s), 0);
	CHECK_EQ(s.faults, 26);
	CHECK(!s.seed_known && !strcmp(s.driver, "brd,null_blk"));
}

static char *slurp_file(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* summary.json has exactly the keys issue 5 lists. */
static int check_keys(const char *json)
{
	static const char *const top[] = {
		"driver", "faults", "seed", "native", "isolated", "rates",
		"clean_runs", "false_alarms", "clean_failed",
		"injections_per_minute",
	};
	struct jdoc d;
	const struct jnode *root, *c;
	int n = 0, ok = 1;

	if (!json || jsonr_parse(json, strlen(json), &d))
		return 0;
	root = jsonr_root(&d);
	for (c = jsonr_first(&d, root); c; c = jsonr_next(&d, c))
		n++;
	ok = n == 10;
	for (size_t i = 0; i < 10; i++)
		ok &= jsonr_get(&d, root, top[i]) != NULL;
	ok &= jsonr_get(&d, jsonr_get(&d, root, "native"), "not_activated") != NULL;
	ok &= jsonr_get(&d, jsonr_get(&d, jsonr_get(&d, root, "isolated"), "silent"),
			"restored") != NULL;
	ok &= jsonr_get(&d, jsonr_get(&d, root, "rates"), "nonfatal") != NULL;
	jsonr_free(&d);
	return ok;
}

TEST(campaign_shards_merge_to_the_whole)
{
	struct run_result rs[64];
	size_t n = synth(rs, 20, 3);
	char *d = tmpdir(), a[256], b[256], w[256], p[300];
	const char *shards[2] = { a, b }, *whole[1] = { w };
	struct summary ss, sw;
	char err[CAMPAIGN_ERR], *js, *jw, *md;

	CHECK(d != NULL);
	if (!d)
		return;
	snprintf(a, sizeof(a), "%s/s0", d);
	snprintf(b, sizeof(b), "%s/s1", d);
	snprintf(w, sizeof(w), "%s/whole", d);
	mkdir(a, 0755);
	mkdir(b, 0755);
	mkdir(w, 0755);
	snprintf(p, sizeof(p), "%s/" RESULTS_FILE, a);
	CHECK_EQ(write_results(p, rs, n, 0, 2), 0);
	snprintf(p, sizeof(p), "%s/" RESULTS_FILE, b);
	CHECK_EQ(write_results(p, rs, n, 1, 2), 0);
	snprintf(p, sizeof(p), "%s/" RESULTS_FILE, w);
	CHECK_EQ(write_results(p, rs, n, 0, 1), 0);
	CHECK_EQ(campaign_report(shards, 2, a, &ss, err, sizeof(err)), 0);
	CHECK_EQ(campaign_report(whole, 1, w, &sw, err, sizeof(err)), 0);
	CHECK(!memcmp(&ss, &sw, sizeof(ss)));
	js = slurp_file(a, "summary.json");
	jw = slurp_file(w, "summary.json");
	CHECK(js && jw && !strcmp(js, jw));
	CHECK(check_keys(js));
	md = slurp_file(w, REPORT_MD);
	CHECK(md && strstr(md, "| class | faults | isolated | captured | missed |"));
	CHECK(md && strstr(md, "| crash | 5 | 2 | 2 | 1 |"));
	CHECK(md && strstr(md, "83.64%") && strstr(md, "75.54%") && strstr(md, "77.43%"));
	CHECK(md && strstr(md, "## By fault type") && strstr(md, "| text-flip |"));
	free(md);
	md = slurp_file(w, REPORT_SVG);
	CHECK(md && strstr(md, "<svg") && strstr(md, "</svg>"));
	free(md);
	free(js);
	free(jw);
	rmtree(d);
	free(d);
}

/* --- the runner, end to end with a fake `chariot run` ----------------- */

struct stopper {
	volatile sig_atomic_t stop;
	unsigned after, seen;
};

static void stop_after(void *ctx, const struct campaign_progress *p)
{
	struct stopper *s = ctx;

	(void)p;
	if (++s->seen == s->after)
		s->stop = 1;
}

/* Does the file at path hold s? */
static bool file_has(const char *path, const char *s)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static void fake_cfg(struct campaign_cfg *c, const char *out, struct stopper *st)
{
	char bad[64];

	memset(c, 0, sizeof(*c));
	c->w = workload_find("brd");
	c->faults = 8;
	c->seed = 3;
	plan_parse_types("all", &c->types, bad, sizeof(bad));
	c->jobs = 2;
	c->clean_runs = 2;
	c->out = out;
	c->nshards = 1;
	c->timeout_s = 30;
	c->chariot = FAKE;
	c->progress = stop_after;
	c->ctx = st;
	c->stop = &st->stop;
}

static enum run_class fake_class(const struct run_result *r, const struct run_result *nat)
{
	static const enum run_class nat_cls[] = { CLS_CRASH, CLS_NONFATAL, CLS_SILENT,
						  CLS_NOT_ACTIVATED };

	if (r->kind == RUN_CLEAN)
		return CLS_CLEAN;
	if (r->kind == RUN_NATIVE)
		return nat_cls[r->seed % 4];
	if (!nat || nat->cls == CLS_NOT_ACTIVATED)
		return CLS_SKIPPED;
	return r->seed % 3 ? CLS_ISOLATED : CLS_MISSED;
}

/* Every run once, each in the class the fake's rules give. */
static int check_runs(const char *out, size_t want)
{
	char path[256];
	struct run_result *rs = NULL;
	size_t n = 0, skipped;
	int ok;

	snprintf(path, sizeof(path), "%s/" RESULTS_FILE, out);
	if (results_load(path, false, &rs, &n, &skipped))
		return 0;
	ok = n == want && !skipped;
	for (size_t i = 0; i < n && ok; i++) {
		const struct run_result *nat = results_find(rs, n, RUN_NATIVE, rs[i].index);

		ok = results_find(rs, n, rs[i].kind, rs[i].index) == &rs[i] &&
		     rs[i].cls == fake_class(&rs[i], nat);
		for (size_t j = 0; j < i && ok; j++)
			ok = rs[j].kind != rs[i].kind || rs[j].index != rs[i].index;
		if (!ok)
			fprintf(stderr, "  run %s %u: class %s\n", run_kind_name(rs[i].kind),
				rs[i].index, run_class_name(rs[i].cls));
	}
	free(rs);
	return ok;
}

TEST(campaign_runner_interrupted_then_resumed)
{
	char *d = tmpdir(), err[CAMPAIGN_ERR], path[256];
	struct campaign_cfg c;
	struct stopper st = { .after = 3 };
	size_t n = 0, skipped;
	struct run_result *rs = NULL;

	CHECK(d != NULL);
	if (!d)
		return;
	fake_cfg(&c, d, &st);
	setenv("FAKE_SLEEP", "0.3", 1);
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), -EINTR);
	unsetenv("FAKE_SLEEP");
	snprintf(path, sizeof(path), "%s/" RESULTS_FILE, d);
	CHECK_EQ(results_load(path, false, &rs, &n, &skipped), 0);
	CHECK(n >= 3 && n < 18);	/* the runs under way were not recorded */
	CHECK_EQ(skipped, 0);
	free(rs);
	st.after = 0;
	st.stop = 0;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), -EEXIST);	/* no --resume */
	c.resume = true;
	c.seed = 4;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), -EINVAL);	/* another campaign */
	CHECK(strstr(err, "another campaign"));
	c.seed = 3;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	CHECK(check_runs(d, 18));
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);	/* nothing left to do */
	CHECK(check_runs(d, 18));
	rmtree(d);
	free(d);
}

/* --sites covered: one coverage run first, its offsets in DIR/sites (in
 * the report's order), every fault run told --sites DIR/sites, the clean
 * runs not; a coverage run that ran none of the driver is an error. */
TEST(campaign_runner_covered_sites)
{
	char *d = tmpdir(), err[CAMPAIGN_ERR], path[512], want[512];
	struct campaign_cfg c;
	struct stopper st = { .after = 0 };
	FILE *f;
	char buf[64] = "";
	size_t n;

	CHECK(d != NULL);
	if (!d)
		return;
	fake_cfg(&c, d, &st);
	c.faults = 2;
	c.clean_runs = 1;
	c.covered_sites = true;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/sites", d);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	CHECK(!strcmp(buf, "9\n0\n5\n"));
	snprintf(want, sizeof(want), "fake: --sites %s/sites", d);
	snprintf(path, sizeof(path), "%s/runs/fault00000-native.out", d);
	CHECK(file_has(path, want));
	snprintf(path, sizeof(path), "%s/runs/fault00001-native.out", d);
	CHECK(file_has(path, want));
	snprintf(path, sizeof(path), "%s/runs/clean00000.out", d);
	CHECK(!file_has(path, "--sites"));
	rmtree(d);
	free(d);

	d = tmpdir();
	if (!d)
		return;
	fake_cfg(&c, d, &st);
	c.covered_sites = true;
	setenv("FAKE_COVER_NONE", "1", 1);
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), -ENOENT);
	unsetenv("FAKE_COVER_NONE");
	CHECK(strstr(err, "ran none of brd's code") != NULL);
	rmtree(d);
	free(d);
}

/* An isolated run that reports another mutation than its unprotected
 * twin's is an error, not a class: it compared two faults. */
TEST(campaign_runner_other_fault_is_an_error)
{
	char *d = tmpdir(), err[CAMPAIGN_ERR], path[256];
	struct campaign_cfg c;
	struct stopper st = { .after = 0 };
	struct run_result *rs = NULL;
	size_t n = 0, skipped, iso = 0, errors = 0;

	CHECK(d != NULL);
	if (!d)
		return;
	fake_cfg(&c, d, &st);
	c.clean_runs = 0;
	setenv("FAKE_OTHER_SITE", "1", 1);
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	unsetenv("FAKE_OTHER_SITE");
	snprintf(path, sizeof(path), "%s/" RESULTS_FILE, d);
	CHECK_EQ(results_load(path, false, &rs, &n, &skipped), 0);
	for (size_t i = 0; i < n; i++) {
		if (rs[i].kind != RUN_ISOLATED || rs[i].cls == CLS_SKIPPED)
			continue;
		iso++;
		errors += rs[i].cls == CLS_ERROR &&
			  strstr(rs[i].reason, "site 2 of 3, not 1 of 3");
	}
	CHECK(iso > 0);
	CHECK_EQ(errors, iso);
	free(rs);
	rmtree(d);
	free(d);
}

TEST(campaign_runner_shards_merge)
{
	char *d = tmpdir(), err[CAMPAIGN_ERR], s0[256], s1[256], w[256];
	const char *shards[2] = { s0, s1 }, *whole[1] = { w };
	struct campaign_cfg c;
	struct stopper st = { .after = 0 };
	struct summary ss, sw;

	CHECK(d != NULL);
	if (!d)
		return;
	snprintf(s0, sizeof(s0), "%s/s0", d);
	snprintf(s1, sizeof(s1), "%s/s1", d);
	snprintf(w, sizeof(w), "%s/w", d);
	fake_cfg(&c, s0, &st);
	c.shard = 0;
	c.nshards = 2;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	c.out = s1;
	c.shard = 1;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	c.out = w;
	c.nshards = 1;
	c.shard = 0;
	CHECK_EQ(campaign_run(&c, err, sizeof(err)), 0);
	CHECK(check_runs(s0, 9) && check_runs(s1, 9) && check_runs(w, 18));
	CHECK_EQ(campaign_report(shards, 2, d, &ss, err, sizeof(err)), 0);
	CHECK_EQ(campaign_report(whole, 1, w, &sw, err, sizeof(err)), 0);
	ss.busy_ms = sw.busy_ms = 0;	/* wall time is the one thing that differs */
	CHECK(!memcmp(&ss, &sw, sizeof(ss)));
	CHECK_EQ(sw.faults, 8);
	CHECK_EQ(sw.clean_runs, 2);
	rmtree(d);
	free(d);
}
