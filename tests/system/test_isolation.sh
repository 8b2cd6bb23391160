# Whole-system: driver isolation.  chariot_buggy's illegal writes are
# denied (enforce) or recorded and let through (learn) while its legal
# ones and its I/O go on; stock drivers under real workloads raise no
# false alarm; isolating a module that never loads is said clearly.
#
# The interface these cases hold the VMM and the guest monitor to:
#   chariot run --isolate MOD --policy enforce|learn --json FILE
#     (one MOD per run.  chariot_buggy is insmod'ed by the command, after
#     the monitor; virtio_blk, virtio_net, brd and null_blk stay as init
#     loaded them at boot, after the monitor)
#   report "domains": [{"module": MOD, "loaded": bool, "entries": N,
#                       "denied": N, "learned": N, ...}, ...]
#     (counters as in struct domain_stats: denied = writes dropped,
#     learned = writes let through by learn mode only)
#   report "violations": [{"module": MOD (or a domain "id"), "verdict":
#                          "denied"|"learned", "rip": N or "0x...", ...}]
#   a module that never loaded: a line on stderr naming it and saying it
#     was not (never) loaded; its domain entry has "loaded": false.
# Which chariot_buggy scenario made a write is told by its RIP: the guest
# prints the module's symbols from /proc/kallsyms (lines "sym: ..."), each
# scenario being its own function buggy_<scenario> (guest/buggy/scenarios.c).
# Enforce mode is expected to drop the write and go on (recovery, which
# would unload the driver, is not asked for here).
# Eight guest runs, 1 vCPU each:
#   tools/testhost sh tests/system/test_isolation.sh
# With CHARIOT_TEST_VCPUS=2 only the stock drivers' workloads, with 2
# vCPUs (virtio_blk, brd, null_blk; virtio_net too with CHARIOT_TEST_NET):
# tests/pending/test_two_vcpus.sh runs them (pending: README, "Two vCPUs
# in the test host").
. tests/system/lib.sh
VCPUS=${CHARIOT_TEST_VCPUS:-1}

# The report checks, one verdict per line: "PASS name" or "FAIL name|why".
#   iso.py buggy REPORT CONSOLE enforce|learn
#   iso.py quiet REPORT MOD          (loaded, entered, not one violation)
#   iso.py absent REPORT MOD         (never loaded)
cat >"$T/iso.py" <<'EOF'
import json, os, re, sys

ILLEGAL = ("wild_write", "wild_atomic", "overflow", "uaf_write", "foreign_write",
           "pt_write")
# overflow was pending until 2026-12-01: in some runs all three overflows
# landed with no violation, their neighbour in the driver's ACT; the
# likely cause (kernel objects allocated deep under a driver call granted
# to the driver) is gone (guest/monitor/alloc.c, grant_depth).


def verdict(ok, name, why=""):
    print("PASS %s" % name if ok else "FAIL %s|%s" % (name, why))


def num(x):
    return int(x, 0) if isinstance(x, str) else int(x)


def domain(r, mod):
    for d in r.get("domains", []):
        if d.get("module", d.get("name")) == mod:
            return d
    return None


def charged(r, mod):
    """The violations charged to mod (named, or numbered by domain id)."""
    ids = {d.get("id"): d.get("module", d.get("name"))
           for d in r.get("domains", [])}
    out = []
    for v in r.get("violations", []):
        dom = v.get("module", v.get("domain"))
        if isinstance(dom, int) and not isinstance(dom, bool):
            dom = ids.get(dom)
        if dom == mod:
            out.append(v)
    return out


def symbols(console):
    """chariot_buggy's text symbols, [(address, name)] sorted."""
    syms = []
    for line in open(console, errors="replace"):
        m = re.match(r"sym: ([0-9a-f]+) [tT] (\S+)", line)
        if m:
            syms.append((int(m.group(1), 16), m.group(2).split(".")[0]))
    return sorted(syms)


def scenario(syms, rip):
    """The scenario whose function holds rip, or the symbol's name."""
    name = "?"
    for addr, sym in syms:
        if addr > rip:
            break
        name = sym
    return name[len("buggy_"):] if name.startswith("buggy_") else name


def landed(console, name):
    """What the guest said of each run of a scenario: ["0", "1", ...]."""
    out = []
    for line in open(console, errors="replace"):
        m = re.search(r"chariot_buggy: %s landed=(\d)" % name, line)
        if m:
            out.append(m.group(1))
    return out


def explain_overflow(console):
    """Not a verdict: why the neighbour was not trapped, from the VMM's
    dump (CHARIOT_DEBUG_DUMP: every ACT range and system page)."""
    dump = os.environ.get("ISO_DUMP", "")
    addrs = {int(m.group(1), 16) for m in re.finditer(
        r"neighbour at 0x([0-9a-f]+)", open(console, errors="replace").read())}
    if not dump or not os.path.exists(dump):
        return
    for line in open(dump):
        p = line.split()
        for a in addrs:
            if p[0] == "sys" and int(p[1], 16) == a & ~0xfff:
                print("    overflow neighbour %#x: a system page (%s)" % (a, line.strip()))
            elif p[0] == "act":
                lo, hi = [int(x, 16) for x in p[2].split("-")]
                if lo <= a < hi:
                    print("    overflow neighbour %#x: in the ACT (%s)" % (a, line.strip()))


def check_buggy(r, console, policy):
    want = "denied" if policy == "enforce" else "learned"
    flag = "0" if policy == "enforce" else "1"
    d = domain(r, "chariot_buggy")
    verdict(d is not None and d.get("loaded") is True,
            "domain chariot_buggy loaded", "domain %r" % d)
    d = d or {}
    n = {k: d.get(k, 0) or 0 for k in ("denied", "learned")}
    if policy == "enforce":
        ok = n["denied"] >= len(ILLEGAL) and n["learned"] == 0
    else:
        ok = n["learned"] >= len(ILLEGAL) and n["denied"] == 0
    verdict(ok, "domain counts %s writes, one or more per illegal trigger" % want,
            "denied=%(denied)s learned=%(learned)s" % n)
    syms = symbols(console)
    verdict(any(s == "buggy_ok" for _, s in syms),
            "guest listed chariot_buggy's symbols", "no 'sym: ... buggy_ok'")
    by = {}
    for v in charged(r, "chariot_buggy"):
        by.setdefault(scenario(syms, num(v.get("rip", 0))), []).append(v)
    for s in ILLEGAL:
        vs = by.pop(s, [])
        got = sorted({str(v.get("verdict")) for v in vs})
        verdict(vs and got == [want], "%s: violation %s" % (s, want),
                "%d violations, verdicts %s" % (len(vs), got))
        if not vs and s == "overflow":
            explain_overflow(console)
        # overflow runs 3 times (see BUGGY); its neighbour is an object
        # chariot_buggy has just freed (scenarios.c): it was once taken
        # as it came and now and then was one of the driver's own live
        # objects (explain_overflow() said "in the ACT").
        got = landed(console, s)
        verdict(flag in got, "%s: landed=%s" % (s, flag),
                "guest said landed=%s" % got)
    # wild_atomic's locked read-modify-writes one by one: each dropped
    # (enforce) or each landed (learn), never half a get/put pair, and
    # what they returned the word as the guest saw it either way.
    atoms = re.findall(r"chariot_buggy: wild_atomic: (inc=\d dec=\d cmpxchg=\d "
                       r"xchg=\d set_bit=\d) returns=(\w+)",
                       open(console, errors="replace").read())
    each = " ".join("%s=%s" % (k, flag)
                    for k in ("inc", "dec", "cmpxchg", "xchg", "set_bit"))
    verdict(atoms == [(each, "right")],
            "wild_atomic: every locked write %s, results right" % want,
            "guest said %r" % atoms)
    ok_runs = [l for l in open(console, errors="replace")
               if re.search(r"chariot_buggy: ok done .*landed=1", l)]
    verdict(len(ok_runs) == 7, "ok: its legal writes all landed (7 runs)",
            "%d good ok runs" % len(ok_runs))
    okv = by.pop("ok", [])
    verdict(not okv, "ok: no violation", "%d violations" % len(okv))
    if "overflow" not in ILLEGAL:
        vs = by.pop("overflow", [])
        print("overflow (not checked): %d violations %s, landed %s" % (
            len(vs), sorted({str(v.get("verdict")) for v in vs}),
            landed(console, "overflow")))
    stray = ["%s %#x" % (s, num(v.get("rip", 0)))
             for s, vs in sorted(by.items()) for v in vs]
    verdict(not stray, "no violation elsewhere in chariot_buggy (I/O path, handler)",
            ", ".join(stray[:8]))


def figures(r, d, mod):
    """Not a verdict: the cost per driver entry, for the closing notes."""
    ex = r.get("exits") or {}
    nex = sum(v for v in ex.values() if isinstance(v, int)) \
        if isinstance(ex, dict) else 0
    n = max(d.get("entries") or 0, 1)
    iso = r.get("isolation") or {}
    print("figures %s: entries %d, trapped writes %d (%.2f/entry), "
          "exits %d (%.2f/entry), view switches %s, pages opened %s, "
          "locked writes %s (raced %s, left to KVM %s), trap %s us, "
          "unentered writes %s, "
          "wall %s ms" % (mod, d.get("entries") or 0,
                          d.get("trapped_writes") or 0,
                          (d.get("trapped_writes") or 0) / n, nex, nex / n,
                          iso.get("switches"), d.get("pages_opened"),
                          iso.get("atomic_writes"), iso.get("atomic_raced"),
                          iso.get("atomic_unhandled"),
                          iso.get("trap_us_mean"),
                          iso.get("unentered_writes"), r.get("wall_ms")))


def check_quiet(r, mod):
    d = domain(r, mod)
    if d:
        figures(r, d, mod)
    verdict(d is not None and d.get("loaded") is True,
            "domain %s loaded" % mod, "domain %r" % d)
    d = d or {}
    verdict((d.get("entries") or 0) > 0, "%s was entered" % mod,
            "entries=%s" % d.get("entries"))
    vs = charged(r, mod)
    n = (d.get("denied") or 0) + (d.get("learned") or 0)
    verdict(not vs and n == 0, "no violation",
            "%d logged, denied=%s learned=%s, first rips %s" % (
                len(vs), d.get("denied"), d.get("learned"),
                [v.get("rip") for v in vs[:4]]))
    # Entries seen: a driver function entered from outside with no probe
    # (reach.c judged it internal) would let its writes through unentered,
    # every one of them; the few an interrupt in a probe handler causes
    # (kprobes skip probes while one's handler runs) stay far below 1%.
    iso = r.get("isolation") or {}
    un = iso.get("unentered_writes") or 0
    verdict(un <= max(16, (iso.get("trapped_writes") or 0) // 100),
            "writes by unseen entries rare",
            "unentered_writes=%s of %s trapped" % (un,
                                                   iso.get("trapped_writes")))
    # The profile: busiest first, no more counted than trapped, someone
    # named when writes were trapped, somewhere left for when entered.
    iso = r.get("isolation") or {}
    prof = iso.get("profile") or {}
    top = prof.get("trapped_writes") or []
    counts = [t.get("count", 0) for t in top]
    ok = (counts == sorted(counts, reverse=True) and
          sum(counts) <= (iso.get("trapped_writes") or 0) and
          (top or not iso.get("trapped_writes")) and
          (prof.get("left_for") or not iso.get("fetch_enters")))
    verdict(ok, "profile of trapped writes and leaves", "%r" % prof)


def check_absent(r, mod):
    d = domain(r, mod)
    verdict(d is not None and d.get("loaded") is False,
            "domain %s reported, loaded false" % mod, "domain %r" % d)
    verdict(not charged(r, mod), "no violation", "some")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    try:
        r = json.load(open(path))
    except (OSError, ValueError) as e:
        verdict(False, "report readable", e)
        return
    if mode == "buggy":
        check_buggy(r, sys.argv[3], sys.argv[4])
    elif mode == "quiet":
        check_quiet(r, sys.argv[3])
    else:
        check_absent(r, sys.argv[3])


main()
EOF

# iso_check LABEL ARGS... : iso.py ARGS, each of its verdicts a case.
iso_check() {
	_label=$1
	shift
	python3 "$T/iso.py" "$@" >"$T/verdicts" 2>&1 ||
		echo "FAIL iso.py ran|$(tail -n 1 "$T/verdicts")" >>"$T/verdicts"
	while IFS= read -r _line; do
		case $_line in
		"PASS "*) pass "$_label: ${_line#PASS }" ;;
		"FAIL "*)
			_c=${_line#FAIL }
			fail "$_label: ${_c%%|*}" "${_c#*|}"
			;;
		*) echo "    $_line" ;;
		esac
	done <"$T/verdicts"
}

# run_ok NAME FILE : the report says the guest powered off.
run_ok() {
	if [ "$(json_get "$2" 'r["end"]' 2>/dev/null)" = poweroff ]; then
		pass "$1: guest powered off"
	else
		fail "$1: guest powered off"
	fi
}

if [ "$VCPUS" = 1 ]; then
	# --- chariot_buggy: every trigger in one run per policy -----------------
	# Each illegal trigger is followed by "ok" (the driver's legal writes still
	# land); a checksummed dd through /dev/chariot_buggy0 ends it (the driver
	# still serves I/O).  rd_size is the foreign_write target, brd's.
	# pt_write comes first: right after the writer's first entry the page
	# tables were walked, and a VMM that opened the user half of every table
	# then let it land.  Its target is the writer's parent's table, which no
	# walk of this call touches (scenarios.c: the writer's own may be open by
	# design, and once was in the learn run).
	BUGGY='insmod /lib/modules/chariot/chariot_buggy.ko || exit 10
	grep "\[chariot_buggy\]" /proc/kallsyms | sed "s/^/sym: /"
	T=/sys/kernel/debug/chariot_buggy/trigger
	before=$(cat /sys/module/brd/parameters/rd_size)
	for t in ok pt_write ok wild_write ok wild_atomic ok overflow overflow overflow ok uaf_write ok foreign_write ok; do
		echo $t > $T || echo "trigger $t failed"
	done
	dd if=/dev/urandom of=/tmp/d bs=4k count=64 2>/dev/null
	dd if=/tmp/d of=/dev/chariot_buggy0 bs=4k conv=fsync 2>/dev/null || exit 11
	echo 3 > /proc/sys/vm/drop_caches
	echo "dd want=$(sha256sum </tmp/d | cut -d" " -f1) got=$(head -c 262144 /dev/chariot_buggy0 | sha256sum | cut -d" " -f1)"
	dmesg | sed -n "s/.*\(chariot_buggy: \)/\1/p"
	echo "rd_size before=$before after=$(cat /sys/module/brd/parameters/rd_size)"'

	for policy in enforce learn; do
		# The VMM's ACT and system pages at the end, for a missed overflow.
		CHARIOT_DEBUG_DUMP=$T/b-$policy.dump ISO_DUMP=$T/b-$policy.dump
		export CHARIOT_DEBUG_DUMP ISO_DUMP
		expect_status "chariot_buggy, $policy: all triggers, guest goes on" 0 \
			$CHARIOT run --isolate chariot_buggy --policy $policy \
			--recover off --json "$T/b-$policy.json" --timeout 600 -- sh -c "$BUGGY"
		cp "$T/out" "$T/b-$policy.out"
		run_ok "chariot_buggy, $policy" "$T/b-$policy.json"
		expect_grep "chariot_buggy, $policy: module loaded" \
			'chariot_buggy: loaded' "$T/b-$policy.out"
		expect_grep "chariot_buggy, $policy: every trigger ran" \
			'chariot_buggy: foreign_write landed' "$T/b-$policy.out"
		if grep -q 'trigger .* failed' "$T/b-$policy.out"; then
			fail "chariot_buggy, $policy: no trigger write failed" \
				"$(grep 'trigger .* failed' "$T/b-$policy.out" | tr '\n' ' ')"
		else
			pass "chariot_buggy, $policy: no trigger write failed"
		fi
		expect_grep "chariot_buggy, $policy: dd through /dev/chariot_buggy0 reads back" \
			'^dd want=\([0-9a-f]\{64\}\) got=\1$' "$T/b-$policy.out"
		expect_grep "chariot_buggy, $policy: brd's rd_size as it was" \
			'^rd_size before=\([0-9]*\) after=\1$' "$T/b-$policy.out"
		unset CHARIOT_DEBUG_DUMP
		iso_check "chariot_buggy, $policy" buggy "$T/b-$policy.json" \
			"$T/b-$policy.out" $policy
	done
fi

# --- no false alarms: stock drivers under load, enforce mode -----------
# ext4 on virtio_blk: files written, summed, unmounted, mounted, checked.
FS='mkfs.ext4 -q /dev/vda && mount /dev/vda /mnt || exit 10
dd if=/dev/urandom of=/mnt/big bs=1M count=8 2>/dev/null
for i in 1 2 3 4 5 6 7 8; do
	dd if=/dev/urandom of=/mnt/f$i bs=4k count=$((i * 3)) 2>/dev/null
done
(cd /mnt && sha256sum big f* > /tmp/sums) && umount /mnt || exit 11
mount /dev/vda /mnt && cd /mnt && sha256sum -c /tmp/sums >/tmp/check || exit 12
cd / && umount /mnt && echo fs-intact'
# With 2 vCPUs it triple-faulted now and then in a test host of two CPUs,
# as brd's 2-vCPU case did (README, "Two vCPUs in the test host"): in
# the fresh-clone CIs of 20a3605 and f2dc703 while the monitor placed
# its probes, in that of 5193b2a after 346 entries, right after a view
# switch.
for cpus in $VCPUS; do
	truncate -s 64M "$T/fs$cpus.img"
	expect_status "virtio_blk, $cpus vCPU: ext4 workload" 0 $CHARIOT run \
		--cpus $cpus --disk "$T/fs$cpus.img" --isolate virtio_blk \
		--policy enforce --json "$T/blk$cpus.json" --timeout 600 -- sh -c "$FS"
	expect_grep "virtio_blk, $cpus vCPU: files intact after remount" \
		'^fs-intact' "$T/out"
	iso_check "virtio_blk, $cpus vCPU" quiet "$T/blk$cpus.json" virtio_blk
done

if [ "$VCPUS" = 1 ]; then
	# virtio_net, 1 vCPU: 1 MiB over TCP between the pair's two NICs (both
	# ends are virtio_net, so both are isolated).  Isolated, it moves ~18 KB/s
	# in the nested test host (a view switch at every crossing between driver
	# and kernel code): 1 MiB is about a minute there, bounded at 300 s.
	NET1=$(net_xfer 1 300)
	expect_status "virtio_net, 1 vCPU: TCP transfer" 0 $CHARIOT run --net pair \
		--isolate virtio_net --policy enforce --json "$T/net1.json" \
		--timeout 600 -- sh -c "$NET1"
	expect_grep "virtio_net, 1 vCPU: checksums match" '^want=\([0-9a-f]\{64\}\) got=\1$' "$T/out"
	iso_check "virtio_net, 1 vCPU" quiet "$T/net1.json" virtio_net

	# virtio_net with the SMM view switched at the monitor's entry and exit
	# records (CHARIOT_ISO_SWITCH=enter) instead of on fetch: the kernel code
	# a driver call runs is protected too, and every write it makes is trapped
	# and emulated (0.8-1.1 million for setting the pair up and a ping, up to
	# 5 minutes in the nested test host).  There virtnet_open() takes tens of
	# seconds, which the hang limit would take for a hang (it did: "ip link
	# set eth0 up" then failed with EIO, the call unwound); --hang-ms 0 turns
	# the limit off.
	ENTER='chariot-netpair || exit 10
	ping -c 3 10.0.0.2 >/dev/null && echo "ping ok"
	ip -br link | grep -q "^eth0 *UP" && ip -n peer -br link | grep -q "^eth1 *UP" && echo "links up"'
	expect_status "virtio_net, switched at entry: pair set up" 0 \
		env CHARIOT_ISO_SWITCH=enter $CHARIOT run --net pair --isolate virtio_net --policy enforce --hang-ms 0 \
		--json "$T/enter.json" --timeout 600 -- sh -c "$ENTER"
	expect_grep "virtio_net, switched at entry: ping answered" '^ping ok' "$T/out"
	expect_grep "virtio_net, switched at entry: both links up" '^links up' "$T/out"
	iso_check "virtio_net, switched at entry" quiet "$T/enter.json" virtio_net
	if [ "$(json_get "$T/enter.json" 'len(r["faults"])' 2>/dev/null)" = 0 ]; then
		pass "virtio_net, switched at entry: no fault"
	else
		fail "virtio_net, switched at entry: no fault" "$(json_get "$T/enter.json" 'r["faults"]' 2>&1)"
	fi
fi

# virtio_net with 2 vCPUs is pending: it runs only with CHARIOT_TEST_NET
# set (tests/pending/test_isolation_net.sh says why).
if [ "$VCPUS" = 2 ] && [ -n "${CHARIOT_TEST_NET:-}" ]; then
	NET=$(net_xfer 4)
	expect_status "virtio_net, 2 vCPU: TCP transfer" 0 $CHARIOT run --cpus 2 \
		--net pair --isolate virtio_net --policy enforce --json "$T/net.json" \
		--timeout 600 -- sh -c "$NET"
	expect_grep "virtio_net: checksums match" '^want=\([0-9a-f]\{64\}\) got=\1$' "$T/out"
	iso_check "virtio_net" quiet "$T/net.json" virtio_net
fi

# RAM disks under dd.  Both are the instances init loaded at boot, after
# the monitor (a reload would run the boot instance's exit under
# isolation, and its earlier allocations are the monitor's own to know;
# src/campaign/workload.c uses the same instances): brd's /dev/ram0
# (CONFIG_BLK_DEV_RAM_SIZE, 16 MiB); null_blk keeps no data unless
# memory-backed, so one such device is made through its configfs.  The
# read-back after drop_caches goes through the driver.  Two writers at
# once, to the device's first 2 MiB and to 2 MiB from 4 MiB on, so that
# with 2 vCPUs both can be inside the driver together.
RAMDISK='dd if=/dev/urandom of=/tmp/a bs=1M count=2 2>/dev/null
dd if=/dev/urandom of=/tmp/b bs=1M count=2 2>/dev/null
dd if=/tmp/a of=$dev bs=64k conv=fsync 2>/dev/null & pa=$!
dd if=/tmp/b of=$dev bs=64k seek=64 conv=fsync 2>/dev/null & pb=$!
wait $pa || exit 11
wait $pb || exit 11
echo 3 > /proc/sys/vm/drop_caches
digest() { sha256sum | cut -d" " -f1; }
echo "dd want=$(cat /tmp/a /tmp/b | digest) got=$( (dd if=$dev bs=64k count=32; dd if=$dev bs=64k skip=64 count=32) 2>/dev/null | digest)"
grep -i "missed\|full\|untracked\|dropped" /sys/kernel/debug/chariot/stats | sed "s/^/monitor: /"'
NULLB='mount -t configfs none /sys/kernel/config 2>/dev/null
C=/sys/kernel/config/nullb/chariot_nullb
mkdir $C && echo 1 > $C/memory_backed && echo 64 > $C/size &&
	echo 1 > $C/power || exit 10
dev=/dev/chariot_nullb
[ -b $dev ] || dev=/dev/nullb$(cat $C/index)'
# brd was pending until 2026-12-01 on a false alarm at its boot load
# (brd_alloc+0xe6: a missed kmalloc kretprobe, since replaced by the
# kmalloc tracepoints); 8 runs in a row have passed since.
for mod in brd null_blk; do
	case $mod in
	brd) setup='[ -b /dev/ram0 ] || exit 10; dev=/dev/ram0' ;;
	null_blk) setup=$NULLB ;;
	esac
	for cpus in $VCPUS; do
		n="$mod, $cpus vCPU"
		expect_status "$n: two dd writers" 0 $CHARIOT run --cpus $cpus \
			--isolate $mod --policy enforce --json "$T/$mod$cpus.json" \
			--timeout 600 -- sh -c "$setup
$RAMDISK"
		expect_grep "$n: data reads back" \
			'^dd want=\([0-9a-f]\{64\}\) got=\1$' "$T/out"
		# Not a verdict: what the monitor missed, for a false alarm's why.
		grep '^monitor: ' "$T/out" | sed 's/^/    /'
		iso_check "$n" quiet "$T/$mod$cpus.json" $mod
	done
done

if [ "$VCPUS" = 1 ]; then
	# --- a module that never loads ------------------------------------------
	# The same run unloads brd, not isolated there: the monitor posts
	# TRUSTED_GONE and the VMM drops brd's range (ring version 7), so its
	# addresses can hold an isolated driver next.  The VMM's trusted ranges
	# are then kernel text and every module loaded (the monitor's own code
	# too); with brd's range kept, one more.
	expect_status "--isolate nosuchmodule: the run still works" 0 $CHARIOT run \
		--isolate nosuchmodule --policy enforce --json "$T/none.json" \
		--timeout 120 -- sh -c 'echo guest-ran
	rmmod brd && echo rmmod-ok
	echo "modules: $(grep -c . /proc/modules)"
	grep "^records posted" /sys/kernel/debug/chariot/stats'
	expect_grep "--isolate nosuchmodule: guest ran" '^guest-ran' "$T/out"
	expect_grep "--isolate nosuchmodule: stderr says it never loaded" \
		'nosuchmodule.*\(never\|not\) loaded' "$T/err"
	iso_check "nosuchmodule" absent "$T/none.json" nosuchmodule
	expect_grep "brd unloaded" '^rmmod-ok' "$T/out"
	expect_grep "brd unloaded: the monitor posted TRUSTED_GONE" \
		'^records posted: .*trusted_gone 1\b' "$T/out"
	mods=$(sed -n 's/^modules: //p' "$T/out")
	ring=$(json_get "$T/none.json" \
		'"%d %d" % (r["isolation"]["ring"]["trusted_ranges"], sum(r["isolation"]["ring"]["rejected"].values()))' 2>/dev/null)
	if [ -n "$mods" ] && [ "$ring" = "$((mods + 1)) 0" ]; then
		pass "brd unloaded: the VMM dropped its trusted range"
	else
		fail "brd unloaded: the VMM dropped its trusted range" \
			"modules loaded $mods, VMM's trusted ranges and records rejected: $ring"
	fi
fi

finish
