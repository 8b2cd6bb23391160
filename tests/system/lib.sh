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

# expect_status NAME WANT CMD... : run CMD, compare its exit status.
# (Helpers use _-prefixed variables: sh has no locals.)
expect_status() {
	_name=$1 _want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" = "$_want" ]; then
		pass "$_name"
	else
		fail "$_name" "exit $_got, expected $_want"
		tail -n 15 "$T/out" "$T/err" | sed 's/^/    /'
	fi
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

finish() {
	exit $((FAILED > 0))
}
