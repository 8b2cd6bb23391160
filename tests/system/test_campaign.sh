# Whole-system: a tiny fault-injection campaign through real runs, on
# chariot_buggy (the test driver: loaded by its workload, so its first load
# is the mutated one). Every fault is run unprotected and isolated, one
# clean run follows; results.jsonl has each run once, summary.json the keys
# issue 5 lists, report.md the Fig. 10 table; `chariot report` merges it
# again. With --sites covered a coverage run comes first (DIR/sites) and
# faults are drawn among the instructions it ran: seed 1 draws a fault
# with no site (its isolated run is skipped) and a loop bound changed in
# the ok trigger's loop, which runs (activated). Five guest runs, two at
# a time, ~3 minutes in the nested test host:
# tools/testhost sh tests/system/test_campaign.sh
. tests/system/lib.sh

# --timeout=SEC: lib.sh's guard takes a bare `--timeout SEC` for the whole
# command's, and this is each run's.
expect_status "campaign: chariot_buggy, 2 faults, 1 clean run" 0 $CHARIOT campaign \
	--driver chariot_buggy --faults 2 --seed 1 --clean-runs 1 --jobs 2 \
	--timeout=150 --sites covered --out "$T/c"
cp "$T/out" "$T/c.out"
expect_grep "campaign printed the table" '^| crash |' "$T/c.out"

python3 - "$T/c" >"$T/verdicts" 2>&1 <<'PY'
import json, sys
d = sys.argv[1]
def verdict(ok, name, why=""):
    print("PASS %s" % name if ok else "FAIL %s|%s" % (name, why))
rs = [json.loads(l) for l in open(d + "/results.jsonl")]
keys = [(r["run"], r["index"]) for r in rs]
verdict(len(rs) == 5 and len(set(keys)) == 5, "results.jsonl: 5 runs, each once",
        "%d lines %s" % (len(rs), keys))
nat = [r for r in rs if r["run"] == "native"]
verdict(len(nat) == 2 and all(r["class"] in ("crash", "nonfatal", "silent",
        "not_activated") for r in nat), "unprotected runs classed",
        [(r["class"], r["reason"]) for r in nat])
verdict(all(r["class"] != "error" for r in rs), "no run failed to say anything",
        [(r["run"], r["index"], r["reason"]) for r in rs if r["class"] == "error"])
for r in nat:
    verdict(r["applied"] is not None, "native %d: report says if applied" % r["index"],
            r["reason"])
sites = [int(l) for l in open(d + "/sites")]
cover = json.load(open(d + "/runs/cover.json"))["inject"]["cover"]
verdict(0 < len(sites) == cover["ran"] < cover["armed"],
        "coverage run: DIR/sites lists what ran", (len(sites), cover["ran"], cover["armed"]))
app = [r for r in nat if r["applied"]]
verdict(app and all(r["activated"] and r["nsites"] <= len(sites) for r in app),
        "applied faults: drawn among the sites that ran, activated",
        [(r["type"], r["nsites"], r["activated"]) for r in app])
iso = [r for r in rs if r["run"] == "isolated"]
verdict(all(r["class"] in ("isolated", "captured", "missed", "skipped") for r in iso),
        "isolated runs classed", [(r["class"], r["reason"]) for r in iso])
clean = [r for r in rs if r["run"] == "clean"]
verdict(len(clean) == 1 and clean[0]["class"] == "clean" and clean[0]["restored"],
        "clean run: no false alarm, workload passed", clean)
s = json.load(open(d + "/summary.json"))
want = {"driver", "faults", "seed", "native", "isolated", "rates",
        "clean_runs", "false_alarms", "clean_failed", "injections_per_minute"}
verdict(set(s) == want, "summary.json keys", set(s) ^ want)
verdict(s.get("driver") == "chariot_buggy" and s.get("faults") == 2 and s.get("seed") == 1
        and s.get("clean_runs") == 1 and s.get("clean_failed") == 0,
        "summary.json counts", s)
print("    summary: %s" % json.dumps(s))
PY
while IFS= read -r _line; do
	case $_line in
	"PASS "*) pass "campaign: ${_line#PASS }" ;;
	"FAIL "*) _c=${_line#FAIL }; fail "campaign: ${_c%%|*}" "${_c#*|}" ;;
	*) echo "    $_line" ;;
	esac
done <"$T/verdicts"
expect_grep "report.md has the Fig. 10 table" '| crash |' "$T/c/report.md"
expect_grep "report.md has the paper's rates" '83.64%' "$T/c/report.md"
[ -s "$T/c/report.svg" ] && pass "report.svg written" || fail "report.svg written"
expect_status "report merges it again" 0 $CHARIOT report "$T/c" --out "$T/m"
cmp -s "$T/c/summary.json" "$T/m/summary.json" &&
	pass "report: the same summary" || fail "report: the same summary"

finish
