#!/bin/sh
# Build the fuzz targets (tests/fuzz/fuzz_*.c, libFuzzer with ASan and
# UBSan) and run each from its seeds, one PASS or FAIL line per target.
# Usage: tests/fuzz/run.sh [RUNS]   (inputs per target; default 50000)
# CHARIOT_FUZZ_TIME=S runs each for S seconds instead (make fuzz), and
# CHARIOT_FUZZ_ONLY=NAME just that target.  The corpus grows in
# build/fuzz/corpus/NAME across runs; a failing input is kept as
# build/fuzz/NAME-crash-*, and the line says how to run it again.
set -u
cd "$(dirname "$0")/../.."
RUNS=${1:-50000}
F=build/fuzz
make -s fuzz-build || { echo "FAIL: fuzz targets do not build"; exit 1; }
rm -rf "$F/seeds"
TARGETS="virtio ring boot ksyms snapshot mutate results classify"
for t in $TARGETS; do mkdir -p "$F/seeds/$t"; done
"$F/seeds-gen" "$F/seeds/virtio" "$F/seeds/boot" "$F/seeds/results" \
	"$F/seeds/mutate" "$F/seeds/ring" "$F/seeds/ksyms" "$F/seeds/snapshot" \
	"$F/seeds/classify" ||
	{ echo "FAIL: fuzz seeds"; exit 1; }
if [ -n "${CHARIOT_FUZZ_TIME:-}" ]; then
	limit="-max_total_time=$CHARIOT_FUZZ_TIME"
else
	limit="-runs=$RUNS -seed=1"
fi
status=0
for t in $TARGETS; do
	case "$t" in *"${CHARIOT_FUZZ_ONLY:-}"*) ;; *) continue ;; esac
	mkdir -p "$F/corpus/$t"
	log=$F/$t.log
	# stderr closed in the target (-close_fd_mask=2): the devices report
	# every malformed ring on it; the failing input, run again below,
	# shows what was wrong.
	if "$F/fuzz-$t" $limit -max_len=4096 -close_fd_mask=2 \
		-artifact_prefix="$F/$t-" -timeout=20 "$F/corpus/$t" "$F/seeds/$t" \
		> "$log" 2>&1; then
		echo "PASS: fuzz $t: $(grep -a -o 'Done [0-9]* runs' "$log" |
			sed 's/Done //') without a finding," \
			"$(ls "$F/corpus/$t" | wc -l) inputs in the corpus"
	else
		art=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$log" | tail -n 1)
		echo "FAIL: fuzz $t: $F/fuzz-$t $art reproduces it"
		# CI keeps only this output: the input itself, to replay
		# elsewhere (base64 -d > FILE).
		[ -n "$art" ] && [ "$(wc -c < "$art")" -le 4096 ] &&
			echo "    input (base64): $(base64 -w0 "$art")"
		[ -n "$art" ] && "$F/fuzz-$t" "$art" 2>&1 |
			grep -v -e '^INFO' -e '^ *#[0-9]* 0x.*\(libFuzzer\|fuzzer::\|libc\)' |
			head -n 25 | sed 's/^/    /'
		status=1
	fi
done
exit $status
