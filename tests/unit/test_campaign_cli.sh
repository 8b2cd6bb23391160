# The `chariot campaign` and `chariot report` commands on this host, with
# tests/unit/fake-chariot.sh standing in for `chariot run` (no KVM needed):
# help, bad input (exit 2), a whole small campaign and its files, SIGTERM in
# the middle (exit 130, results.jsonl whole) then --resume, shards merged.
# Run by tests/run on the host: sh tests/unit/test_campaign_cli.sh
. tests/system/lib.sh
FAKE=tests/unit/fake-chariot.sh

expect_status "campaign --help" 0 $CHARIOT campaign --help
expect_grep "campaign --help lists options and workloads" 'shard I/N' "$T/out"
expect_grep "campaign --help lists the workloads" 'chariot_buggy' "$T/out"
expect_status "report --help" 0 $CHARIOT report --help

bad_input() {
	expect_status "bad input: $1" 2 $CHARIOT campaign --out "$T/bad" --chariot $FAKE "$@"
	[ -s "$T/err" ] && pass "bad input: $1: says why" || fail "bad input: $1: says why"
}
bad_input "unknown driver" --driver e1000 --faults 1 --seed 1
bad_input "unknown fault type" --driver brd --faults 1 --seed 1 --types sync,nope
bad_input "no faults" --driver brd --faults 0 --seed 1
bad_input "bad shard" --driver brd --faults 1 --seed 1 --shard 2/2
bad_input "no seed" --driver brd --faults 1
expect_status "report of no directory: exit 2" 2 $CHARIOT report "$T/none"
FAKE_REFUSE=1 expect_status "chariot run refusing its options stops the campaign" 1 \
	$CHARIOT campaign --driver brd --faults 5 --seed 1 --jobs 1 --out "$T/r" --chariot $FAKE
expect_grep "... and says what chariot run said" "refused.*unknown or incomplete option '--inject'" "$T/err"
[ ! -s "$T/r/results.jsonl" ] && pass "... and records no run" || fail "... and records no run"

# keys FILE: summary.json has the keys issue 5 lists.
keys() {
	python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
want = {"driver", "faults", "seed", "native", "isolated", "rates",
        "clean_runs", "false_alarms", "clean_failed", "injections_per_minute"}
assert set(s) == want, set(s) ^ want
assert set(s["native"]) == {"crash", "nonfatal", "silent", "not_activated"}
for c in ("crash", "nonfatal", "silent"):
    assert set(s["isolated"][c]) == {"isolated", "captured", "missed", "restored"}
PY
}

# runs DIR: "N U" lines and distinct (run, index) pairs in results.jsonl.
runs() {
	python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print(len(rs), len({(r["run"], r["index"]) for r in rs}))' "$1/results.jsonl"
}

expect_status "small campaign" 0 $CHARIOT campaign --driver brd --faults 4 \
	--seed 1 --clean-runs 1 --jobs 2 --out "$T/c" --chariot $FAKE
expect_grep "it prints the Fig. 10 table" '^| crash |' "$T/out"
[ "$(runs "$T/c")" = "9 9" ] && pass "results.jsonl: 9 runs, each once" ||
	fail "results.jsonl: 9 runs, each once" "$(runs "$T/c")"
keys "$T/c/summary.json" 2>"$T/keys" && pass "summary.json has the keys" ||
	fail "summary.json has the keys" "$(tail -n 1 "$T/keys")"
expect_grep "report.md has the table" '83.64%' "$T/c/report.md"
expect_grep "report.svg is a chart" '<svg' "$T/c/report.svg"
expect_status "the same --out without --resume: exit 2" 2 $CHARIOT campaign \
	--driver brd --faults 4 --seed 1 --out "$T/c" --chariot $FAKE

# SIGTERM in the middle, then --resume.
FAKE_SLEEP=1 $CHARIOT campaign --driver brd --faults 6 --seed 5 --jobs 1 \
	--out "$T/k" --chariot $FAKE >"$T/k.out" 2>"$T/k.err" &
pid=$!
sleep 3
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 130 ] && pass "SIGTERM: exit 130" || fail "SIGTERM: exit 130" "exit $rc"
set -- $(runs "$T/k")
[ "${1:-0}" -gt 0 ] && [ "$1" -lt 12 ] && [ "$1" = "$2" ] &&
	pass "SIGTERM: results.jsonl whole, part done ($1 runs)" ||
	fail "SIGTERM: results.jsonl whole, part done" "$*"
expect_status "--resume finishes it" 0 $CHARIOT campaign --driver brd --faults 6 \
	--seed 5 --jobs 2 --out "$T/k" --resume --chariot $FAKE
[ "$(runs "$T/k")" = "12 12" ] && pass "--resume: 12 runs, each once" ||
	fail "--resume: 12 runs, each once" "$(runs "$T/k")"

# Two shards merged report what one whole campaign reports.
for i in 0 1; do
	expect_status "shard $i/2" 0 $CHARIOT campaign --driver brd --faults 6 \
		--seed 5 --out "$T/s$i" --shard $i/2 --chariot $FAKE
done
expect_status "report merges the shards" 0 $CHARIOT report "$T/s0" "$T/s1" --out "$T/m"
python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for s in (a, b):
    del s["injections_per_minute"]
sys.exit(a != b)' "$T/m/summary.json" "$T/k/summary.json" &&
	pass "merged shards == the whole campaign" ||
	fail "merged shards == the whole campaign"

finish
