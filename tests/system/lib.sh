# lib.sh - helpers for whole-system test files. Each case prints one line,
# "PASS: name" or "FAIL: name" (tests/run counts them); a test file exits
# non-zero when any case failed.
set -u
CHARIOT=${CHARIOT:-build/chariot}
T=$(mktemp -d /tmp/chariot-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILED=0

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1${2:+ ($2)}"
	FAILED=$((FAILED + 1))
}

# guarded CMD... : run CMD; if it outlives its own --timeout by 120 s (or
# 700 s without one), print where its threads are stuck in the kernel, the
# kernel log's tail, and kill it (status 137). A hung VMM then fails one case
# with a diagnosis (in $T/hung) instead of silencing the rest of the file.
guarded() {
	_guard=700 _prev=
	for _a in "$@"; do
		[ "$_prev" = --timeout ] && _guard=$((${_a%.*} + 120))
		_prev=$_a
	done
	"$@" &
	_pid=$!
	( sleep "$_guard"
	  kill -0 "$_pid" 2>/dev/null || exit 0
	  { echo "HUNG: $* (pid $_pid) still running after ${_guard} s"
	    for _t in /proc/"$_pid"/task/*; do
		echo "thread ${_t##*/}: $(cut -d' ' -f3 "$_t/stat") wchan=$(cat "$_t/wchan")"
		sed 's/^/    /' "$_t/stack"
	    done
	    dmesg | tail -n 40
	  } >"$T/hung" 2>&1
	  kill -9 "$_pid" ) &
	_wd=$!
	wait "$_pid"
	_rc=$?
	kill "$_wd" 2>/dev/null
	wait "$_wd" 2>/dev/null
	return $_rc
}

# expect_status NAME WANT CMD... : run CMD, compare its exit status.
# (Helpers use _-prefixed variables: sh has no locals.)
expect_status() {
	_name=$1 _want=$2
	shift 2
	guarded "$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" = "$_want" ]; then
		pass "$_name"
	else
		fail "$_name" "exit $_got, expected $_want"
		tail -n 15 "$T/out" "$T/err" | sed 's/^/    /'
		[ -s "$T/hung" ] && sed 's/^/    /' "$T/hung"
	fi
	rm -f "$T/hung"
}

# expect_grep NAME PATTERN FILE : FILE has a line matching PATTERN.
expect_grep() {
	if grep -q -- "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "no '$2' in $(basename "$3")"
		tail -n 15 "$3" | sed 's/^/    /'
	fi
}

# json_get FILE EXPR : print a value from a JSON report (python3 expression
# over `r`), e.g. json_get r.json 'r["end"]'.
json_get() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# net_xfer MIB [SECONDS]: the guest command that sends MIB MiB over TCP
# between the --net pair's NICs, each end bounded to SECONDS if given, and
# checks the checksums ("want=... got=...", exit 11 if they differ).
# busybox nc quits when its stdin ends: the receiver reads a fifo that
# never does.
net_xfer() {
	_bound=${2:+timeout $2 }
	printf '%s\n' 'chariot-netpair || exit 10' \
		"dd if=/dev/urandom of=/tmp/data bs=1M count=$1 2>/dev/null" \
		'want=$(sha256sum < /tmp/data | cut -d" " -f1)' \
		'mkfifo /tmp/hold' \
		"ip netns exec peer ${_bound}sh -c \"nc -l -p 5001 <>/tmp/hold >/tmp/recv\" &" \
		'sleep 1' \
		"${_bound}nc 10.0.0.2 5001 < /tmp/data" \
		'wait' \
		'got=$(sha256sum < /tmp/recv | cut -d" " -f1)' \
		'echo "want=$want got=$got"' \
		'[ "$want" = "$got" ] || exit 11'
}

finish() {
	exit $((FAILED > 0))
}
