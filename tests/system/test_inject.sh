# Whole-system: fault injection into a guest driver (chariot run --inject).
# brd is loaded by init at boot, after the guest monitor: its first load is
# the one mutated (src/inject/inject.h), before its init runs, and the
# workload uses that instance.
#   - unprotected (no --isolate: the monitor only watches brd) and
#     isolated: the report's "inject" says applied, what, before, after,
#     and activated for a site brd's init runs;
#   - the mutation lands before init: kmalloc failing in brd_alloc leaves
#     brd without its disks;
#   - a reload (rmmod; modprobe brd rd_nr=1 rd_size=16384) is a clean copy:
#     the data written and read back through it is intact (the fault is
#     one that leaves no state behind: a branch inverted in the boot
#     instance can leave a disk registered that the reload then cannot
#     make, ENXIO on /dev/ram0);
#   - the same seed picks the same fault in an isolated virtio_blk as in
#     an unprotected one (its probes do not change the text it is chosen
#     from);
#   - bad --inject arguments exit 2; a module that never loads is said.
# Ten guest runs: tools/testhost sh tests/system/test_inject.sh
. tests/system/lib.sh

# Checks on a report, one verdict per line: "PASS name" or "FAIL name|why".
#   inj.py REPORT NAME KEY=VALUE...   (VALUE: true, false, null, *: not
#                                      empty, or a string the field holds)
cat >"$T/inj.py" <<'EOF'
import json, sys

r = json.load(open(sys.argv[1]))
name = sys.argv[2]
inj = r.get("inject")
if not isinstance(inj, dict):
    print("FAIL %s|no \"inject\" in the report" % name)
    sys.exit()
for kv in sys.argv[3:]:
    k, _, want = kv.partition("=")
    got = r.get(k[1:]) if k.startswith("@") else inj.get(k)
    ok = {"true": got is True, "false": got is False, "null": got is None,
          "*": isinstance(got, str) and got != ""}.get(want)
    if ok is None:
        ok = isinstance(got, str) and want in got
    verdict = "PASS" if ok else "FAIL"
    print("%s %s: %s%s" % (verdict, name, k,
                           "" if ok else "|%s is %r" % (k, got)))
EOF

check() {
	python3 "$T/inj.py" "$@" >"$T/verdicts" 2>&1 ||
		echo "FAIL $2: report|unreadable" >>"$T/verdicts"
	while IFS= read -r line; do
		case $line in
		PASS\ *) pass "${line#PASS }" ;;
		*) _w=${line#FAIL }; fail "${_w%%|*}" "${_w#*|}" ;;
		esac
	done <"$T/verdicts"
}

# run NAME ARGS... -- COMMAND: one guest run, its report in $T/NAME.json.
run() {
	_n=$1
	shift
	guarded "$CHARIOT" run --timeout 240 --json "$T/$_n.json" "$@" \
		>"$T/$_n.out" 2>&1
	echo "$?" >"$T/$_n.rc"
	[ -s "$T/hung" ] && sed 's/^/    /' "$T/hung"
	rm -f "$T/hung"
}

# The data check on /dev/ram0 (the boot instance's first disk).
DD='dd if=/dev/urandom of=/tmp/a bs=64k count=64 &&
dd if=/tmp/a of=/dev/ram0 bs=64k conv=fsync &&
echo 3 >/proc/sys/vm/drop_caches &&
dd if=/dev/ram0 of=/tmp/b bs=64k count=64 &&
cmp /tmp/a /tmp/b && echo DATA-INTACT'

# Bad input: nothing runs.
expect_status "malformed --inject exits 2" 2 \
	"$CHARIOT" run --inject brd:branch-invert -- true
expect_grep "malformed --inject said" "MOD:TYPE:SEED" "$T/err"
expect_status "unknown fault type exits 2" 2 \
	"$CHARIOT" run --inject brd:no-such-type:1 -- true
expect_grep "unknown fault type said, with the list" \
	"unknown fault type 'no-such-type' (one of: text-flip" "$T/err"
expect_status "bad seed exits 2" 2 \
	"$CHARIOT" run --inject brd:alloc:x -- true
expect_status "--inject a module not isolated with --isolate exits 2" 2 \
	"$CHARIOT" run --isolate null_blk --inject brd:alloc:1 -- true
expect_grep "--inject outside --isolate said" "must be one of the isolated" "$T/err"

# Unprotected: kmalloc_trace in brd_alloc returns NULL, from brd's init on.
run alloc --inject brd:alloc:1 -- sh -c '[ -b /dev/ram0 ] && echo HAS-RAM0; true'
check "$T/alloc.json" "unprotected alloc" applied=true error=null \
	what="kmalloc_trace returns NULL" before="call" after="xor eax, eax" \
	activated=true @end=poweroff
if grep -q HAS-RAM0 "$T/alloc.out"; then
	fail "mutation in place before brd's init" "brd made /dev/ram0"
else
	pass "mutation in place before brd's init"
fi
check "$T/alloc.json" "unprotected run is not isolation" @isolation=null

# Unprotected, 2 vCPUs: a branch inverted, brd's disk still serves.
run invert --cpus 2 --inject brd:branch-invert:1 -- sh -c "$DD"
check "$T/invert.json" "unprotected branch-invert" applied=true \
	error=null addr="0xffffffffc0" what="condition" before="je " \
	after="jne " activated=true @end=poweroff
expect_grep "unprotected branch-invert: brd served" DATA-INTACT "$T/invert.out"

# Isolated: the same fault in an isolated brd.
run iso_alloc --isolate brd --inject brd:alloc:1 -- true
check "$T/iso_alloc.json" "isolated alloc" applied=true error=null \
	what="kmalloc_trace returns NULL" activated=true @end=poweroff
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
d=[d for d in r["domains"] if d["module"]=="brd"];
sys.exit(not (d and d[0]["loaded"]))' "$T/iso_alloc.json" &&
	pass "isolated alloc: brd is a domain" ||
	fail "isolated alloc: brd is a domain" "no loaded domain brd"

run iso_invert --isolate brd --inject brd:branch-invert:1 -- true
check "$T/iso_invert.json" "isolated branch-invert" applied=true error=null \
	before="je " after="jne " activated=true @end=poweroff

# A reload is a clean copy: only the first load is mutated.  The boot
# instance's kmalloc fails (no disks, nothing left behind); the reloaded
# one makes its disk and serves it.
run reload --inject brd:alloc:1 -- sh -c \
	"rmmod brd && echo RMMOD-OK && modprobe brd rd_nr=1 rd_size=16384 &&
	 echo MODPROBE-OK && $DD"
check "$T/reload.json" "reload" applied=true activated=true @end=poweroff
expect_grep "reloaded brd is clean: data intact" DATA-INTACT "$T/reload.out"

# Coverage (--cover): every instruction brd runs is recorded and put
# back; brd serves as without it.  A fault drawn only among those
# (--sites) is activated.
expect_status "--sites without --inject exits 2" 2 \
	"$CHARIOT" run --sites /dev/null -- true
expect_status "--cover and --inject together exit 2" 2 \
	"$CHARIOT" run --cover brd --inject brd:alloc:1 -- true
run cover --cover brd -- sh -c "$DD"
expect_grep "--cover: brd served, data intact" DATA-INTACT "$T/cover.out"
check "$T/cover.json" "--cover" applied=false error=null debug_error=null \
	@end=poweroff
if python3 - "$T/cover.json" "$T/sites" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["inject"]["cover"]
s = c["sites"]
ok = 0 < c["ran"] == len(s) < c["armed"] and s == sorted(set(s))
open(sys.argv[2], "w").write("".join("%d\n" % o for o in s))
print("armed %d, ran %d" % (c["armed"], c["ran"]))
sys.exit(not ok)
EOF
then
	pass "--cover: sites listed, fewer than armed"
else
	fail "--cover: sites listed, fewer than armed" "$(cat "$T/cover.json")"
fi
# (Seed 1's run powered off in a trial; seed 3 deletes an instruction
# the dd needs and the guest hangs to the timeout.)
run sited --inject brd:insn-delete:1 --sites "$T/sites" -- sh -c "$DD"
check "$T/sited.json" "--sites: the fault is at a site that ran" \
	applied=true activated=true

# The same seed is the same fault isolated as unprotected: chosen from
# the text as the loader left it, before the isolation's probes write
# int3 bytes into it (virtio_blk has functions kprobes cannot reach
# through ftrace: a campaign of it chose another site in 4 of 9 isolated
# runs, 892 sites instead of 893).
truncate -s 16M "$T/vd.img"
run vb_native --disk "$T/vd.img" --inject virtio_blk:insn-delete:1432045804 \
	-- true
run vb_iso --disk "$T/vd.img" --isolate virtio_blk \
	--inject virtio_blk:insn-delete:1432045804 -- true
if python3 - "$T/vb_native.json" "$T/vb_iso.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["inject"] for p in sys.argv[1:])
key = lambda i: (i["applied"], i["nsites"], i["site"],
                 int(i["addr"], 16) - int(i["text"], 16), i["before"])
print("unprotected %r, isolated %r" % (key(a), key(b)))
sys.exit(not (a["applied"] and key(a) == key(b)))
EOF
then
	pass "isolated and unprotected: the same seed, the same fault"
else
	fail "isolated and unprotected: the same seed, the same fault" \
		"$(grep -h '"site"' "$T/vb_native.json" "$T/vb_iso.json")"
fi

# A module that never loads.
run absent --inject no_such_module:alloc:1 -- true
check "$T/absent.json" "module never loaded" applied=false \
	error="module never loaded" activated=false @end=poweroff

finish
