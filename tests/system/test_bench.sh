# Whole-system: bench/isolation works end to end (one small round on brd),
# so the benchmark does not rot.  Its figures are not judged here: a timing
# goal belongs to the benchmark itself.
. tests/system/lib.sh

expect_status "bench/isolation rejects an unknown driver" 2 \
	python3 bench/isolation --drivers nosuch
expect_grep "  and names the known ones" "known: virtio_blk" "$T/err"

expect_status "bench/isolation, brd, 1 round of 1 MiB" 0 \
	python3 bench/isolation --drivers brd --runs 1 --mib 1 --kernel-pages \
	--json "$T/b.json"
cp "$T/out" "$T/table"
expect_grep "  prints brd's row" "^brd  *[0-9.]* *[0-9.]* *[0-9.]*" "$T/table"
expect_grep "  and its whole-run times" "^brd *whole run" "$T/table"
n=$(json_get "$T/b.json" 'len(r)')
[ "$n" = 1 ] && pass "  the JSON has one driver" || fail "  the JSON has one driver" "$n"
# An isolated brd write traps (its copies go to pages it was never given
# before the first one opens them), and each run moved its MiB through it.
for k in entries trapped_writes isolated_exits unprotected_exits; do
	v=$(json_get "$T/b.json" "int(r[0]['$k'] > 0)")
	[ "$v" = 1 ] && pass "  $k counted" || fail "  $k counted" "$(cat "$T/b.json")"
done
v=$(json_get "$T/b.json" "int(r[0]['isolated_exits'] > r[0]['unprotected_exits'])")
[ "$v" = 1 ] && pass "  isolation adds exits" || fail "  isolation adds exits" "$(cat "$T/b.json")"
# --kernel-pages: brd calls radix_tree_lookup and the RCU read lock often
# enough that a page of them runs protected, and that saves view switches.
sed -n '/kernel pages the driver calls/,$p' "$T/table" >"$T/kp"
expect_grep "  compares kernel pages run protected or not" \
	"^brd  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9]*  *[0-9]*  *[0-9]*  *[0-9]*  *[0-9]*" "$T/kp"
for k in "r[0]['promoted'] > 0" "r[0]['on_switches'] < r[0]['switches']"; do
	v=$(json_get "$T/b.json" "int($k)")
	[ "$v" = 1 ] && pass "  $k" || fail "  $k" "$(cat "$T/b.json")"
done
finish
