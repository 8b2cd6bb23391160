# Whole-system: the write protection that works on every KVM version
# (readonly-all: while a vCPU runs an isolated module, the whole of guest
# RAM is a read-only memslot; no second address space, no fetch
# switching), forced with CHARIOT_ISO_MECH=readonly-all.  The default
# mechanism (smm-view) is what test_isolation.sh runs.
#   - chariot_buggy's illegal writes are denied and its legal ones land,
#     the guest goes on;
#   - the CLI says once that whole calls run protected and may outlast
#     the default hang limit, and not when --hang-ms is given.
# Every write of a driver call traps here, the kernel code it calls and
# the interrupts it takes included (2026-12-01, nested test host: 37 476
# trapped writes in chariot_buggy's 26 entries, 16 s; the whole file about
# half a minute).
#   tools/testhost sh tests/system/test_readonly_all.sh
. tests/system/lib.sh

RO="env CHARIOT_ISO_MECH=readonly-all"
NOTE='note: isolation write-protects whole driver calls'

# --- the hang-limit note: a module that never loads, nothing protected --
expect_status "readonly-all, default --hang-ms: the run works" 0 $RO $CHARIOT run \
	--isolate nosuchmodule --json "$T/none.json" --timeout 120 -- true
expect_grep "readonly-all, default --hang-ms: stderr notes the hang limit" \
	"$NOTE" "$T/err"
if [ "$(json_get "$T/none.json" 'r["isolation"]["mechanism"]' 2>&1)" = readonly-all ]; then
	pass "report: mechanism readonly-all"
else
	fail "report: mechanism readonly-all" "$(json_get "$T/none.json" 'r.get("isolation")' 2>&1)"
fi
expect_status "readonly-all, --hang-ms 10000: the run works" 0 $RO $CHARIOT run \
	--isolate nosuchmodule --hang-ms 10000 --timeout 120 -- true
if grep -q "$NOTE" "$T/err"; then
	fail "readonly-all, --hang-ms given: no note" "$(grep "$NOTE" "$T/err")"
else
	pass "readonly-all, --hang-ms given: no note"
fi

# --inject alone watches its module under readonly-all but protects
# nothing: no note.
guarded $CHARIOT run --inject brd:alloc:1 --timeout 120 -- true \
	>"$T/out" 2>"$T/err"
if grep -q "$NOTE" "$T/err"; then
	fail "--inject without --isolate: no note" "$(grep "$NOTE" "$T/err")"
else
	pass "--inject without --isolate: no note"
fi

# --- chariot_buggy: four illegal writes among legal ones ----------------
# foreign_write is left to test_isolation: its kallsyms_lookup_name(), a
# walk of every kernel symbol with timer interrupts trapped too, takes
# minutes here.
# disk=0: no /dev/chariot_buggy0; its registration, every write of it
# trapped, took 5.5 of the 6 minutes of a run with the disk (2026-12-01).
BUGGY='insmod /lib/modules/chariot/chariot_buggy.ko disk=0 || exit 10
T=/sys/kernel/debug/chariot_buggy/trigger
for t in ok wild_write wild_atomic overflow uaf_write ok; do
	echo $t > $T || echo "trigger $t failed"
done
dmesg | sed -n "s/.*\(chariot_buggy: \)/\1/p"'
expect_status "chariot_buggy, readonly-all: all triggers, guest goes on" 0 \
	$RO $CHARIOT run --isolate chariot_buggy --policy enforce --recover off \
	--hang-ms 0 --json "$T/b.json" --timeout 1500 -- sh -c "$BUGGY"
cp "$T/out" "$T/b.out"
expect_grep "chariot_buggy, readonly-all: module loaded" 'chariot_buggy: loaded' "$T/b.out"
for s in wild_write wild_atomic overflow uaf_write; do
	expect_grep "chariot_buggy, readonly-all: $s dropped (landed=0)" \
		"chariot_buggy: $s landed=0" "$T/b.out"
done
# each locked read-modify-write dropped, what it returned still right
expect_grep "chariot_buggy, readonly-all: wild_atomic: each locked write dropped" \
	'chariot_buggy: wild_atomic: inc=0 dec=0 cmpxchg=0 xchg=0 set_bit=0 returns=right' "$T/b.out"
n=$(grep -c 'chariot_buggy: ok done .*landed=1' "$T/b.out")
if [ "$n" = 2 ]; then
	pass "chariot_buggy, readonly-all: ok's legal writes landed (2 runs)"
else
	fail "chariot_buggy, readonly-all: ok's legal writes landed (2 runs)" "$n good ok runs"
fi
if grep -q 'trigger .* failed' "$T/b.out"; then
	fail "chariot_buggy, readonly-all: no trigger write failed" \
		"$(grep 'trigger .* failed' "$T/b.out" | tr '\n' ' ')"
else
	pass "chariot_buggy, readonly-all: no trigger write failed"
fi
# The report: this mechanism, every denied write charged to the module,
# nothing learned.
got=$(json_get "$T/b.json" '"%s fetch_switching=%s denied=%s violations=%s" % (
	r["isolation"]["mechanism"], r["isolation"].get("fetch_switching"),
	[d for d in r["domains"] if d["module"] == "chariot_buggy"][0]["denied"],
	sorted(v.get("verdict") for v in r["violations"]))' 2>&1)
echo "    report: $got"
if json_get "$T/b.json" '(r["isolation"]["mechanism"] == "readonly-all" and
	r["isolation"].get("fetch_switching") is False and
	[d for d in r["domains"] if d["module"] == "chariot_buggy"][0]["denied"] >= 4 and
	len(r["violations"]) >= 4 and
	all(v.get("verdict") == "denied" for v in r["violations"]))' 2>/dev/null |
	grep -qx True; then
	pass "chariot_buggy, readonly-all: report: 4 or more writes denied, none learned"
else
	fail "chariot_buggy, readonly-all: report: 4 or more writes denied, none learned" "$got"
fi
# Not a verdict: the cost, for the notes.
json_get "$T/b.json" '"figures: trapped writes %s, entries %s, view edits %s, wall %s ms" % (
	r["isolation"]["trapped_writes"],
	[d for d in r["domains"] if d["module"] == "chariot_buggy"][0]["entries"],
	r["isolation"].get("view_edits"), r["wall_ms"])' 2>&1 | sed 's/^/    /'

finish
