# Whole-system: --snapshot.  A 2-vCPU guest saved when init starts, then
# restored instead of booted: the restored guest reads a disk it has never
# seen (its virtio device is set up after the snapshot point), exits with
# its status, and the report says saved / restored.  Another command makes
# the file stale (replaced); a file that is not a snapshot is refused and
# left alone.  ~1 minute in the nested test host.
. tests/system/lib.sh

CMD='echo disk=$(head -c 11 /dev/vda); echo cpus=$(grep -c ^processor /proc/cpuinfo); exit 3'
printf 'first-disk!' >"$T/d1"; truncate -s 1M "$T/d1"
printf 'other-disk!' >"$T/d2"; truncate -s 1M "$T/d2"

expect_status "boot and save at init" 3 $CHARIOT run --cpus 2 --timeout 120 \
	--snapshot "$T/g.snap" --disk "$T/d1" --json "$T/s1.json" -- sh -c "$CMD"
expect_grep "saving run read its disk" '^disk=first-disk!' "$T/out"
if [ "$(json_get "$T/s1.json" 'r["snapshot"]["action"]')" = saved ] &&
   [ "$(json_get "$T/s1.json" 'r["snapshot"]["ram_bytes"] > 0')" = True ]; then
	pass "report: snapshot saved"
else
	fail "report: snapshot saved" "$(cat "$T/s1.json")"
fi

expect_status "restored run: same status" 3 $CHARIOT run --cpus 2 --timeout 120 \
	--snapshot "$T/g.snap" --disk "$T/d2" --json "$T/s2.json" -- sh -c "$CMD"
expect_grep "restored run reads its own disk" '^disk=other-disk!' "$T/out"
expect_grep "restored run has both vCPUs" '^cpus=2' "$T/out"
if [ "$(json_get "$T/s2.json" 'r["snapshot"]["action"]')" = restored ] &&
   [ "$(json_get "$T/s2.json" 'r["end"]')" = poweroff ]; then
	pass "report: snapshot restored, guest powered off"
else
	fail "report: snapshot restored, guest powered off" "$(cat "$T/s2.json")"
fi

expect_status "another command: boots, replaces it" 0 $CHARIOT run --cpus 2 \
	--timeout 120 --snapshot "$T/g.snap" --json "$T/s3.json" -- true
if [ "$(json_get "$T/s3.json" 'r["snapshot"]["action"]')" = saved ]; then
	pass "stale snapshot replaced"
else
	fail "stale snapshot replaced" "$(cat "$T/s3.json")"
fi
expect_grep "replacement said so" 'was for another configuration: replaced' "$T/err"

printf 'precious data\n' >"$T/notsnap"
expect_status "a file that is not a snapshot is refused" 2 $CHARIOT run \
	--timeout 120 --snapshot "$T/notsnap" -- true
expect_grep "refusal says why" 'not a Chariot snapshot' "$T/err"
if [ "$(cat "$T/notsnap")" = "precious data" ]; then
	pass "refused file left as it was"
else
	fail "refused file left as it was" "$(head -c 200 "$T/notsnap")"
fi

expect_status "snapshot in a missing directory: bad input" 2 $CHARIOT run \
	--timeout 120 --snapshot "$T/no/such/dir/g.snap" -- true
expect_grep "missing directory named" 'cannot write there' "$T/err"
finish
