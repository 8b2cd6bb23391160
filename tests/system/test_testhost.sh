#!/bin/sh
# The nested test host (tools/testhost).  One line per case: "PASS: name" or
# "FAIL: name" (the reason follows, indented); exits non-zero if a
# case failed.
#
# Two sets of cases:
#   inside (default)  run where the tests run:  tools/testhost sh tests/system/test_testhost.sh
#                     /dev/kvm usable, svm flag, nested paging, checkout
#                     writable at the same path, exit status of a nested command.
#   outside           run on the host itself, each case boots a test host (~1 min
#                     in all):  CHARIOT_TEST_OUTSIDE=1 sh tests/system/test_testhost.sh
#                     argument quoting, stdout/stderr (pipes or ttys as outside),
#                     exit status, files written
#                     inside seen outside, timeout, SIGTERM, kernel panic, heartbeat
#                     kept and lost, direct mode.
cd "$(dirname "$0")/../.." || exit 2
CO=$(pwd -P)
failed=0
pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	shift
	[ -z "$*" ] || printf '%s\n' "$@" | sed 's/^/    /'
	failed=1
}
check() { # check NAME COMMAND...: PASS if COMMAND succeeds
	name=$1
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

kvm_usable() {
	python3 - <<'EOF'
import fcntl, os, sys
KVM_GET_API_VERSION, KVM_CREATE_VM = 0xAE00, 0xAE01
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
v = fcntl.ioctl(fd, KVM_GET_API_VERSION)
if v != 12:
    sys.exit("KVM_GET_API_VERSION = %d, not 12" % v)
vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
if vm < 0:
    sys.exit("KVM_CREATE_VM failed")
os.close(vm)
EOF
}

checkout_writable() {
	f=$CO/build/testhost/.inside.$$
	mkdir -p "$CO/build/testhost" && echo "written at $CO" >"$f" &&
		[ "$(cat "$f")" = "written at $CO" ] && rm -f "$f" || return 1
	# The checkout is its own read-write mount inside the test host, at the
	# same absolute path as outside (the test host's root is read-only).
	if [ "${CHARIOT_TESTHOST_INSIDE:-}" = 1 ]; then
		awk -v p="$CO" '$2 == p && $4 ~ /^rw/ {f=1} END {exit !f}' /proc/mounts ||
			{ echo "no read-write mount at $CO"; return 1; }
		touch /.testhost-ro 2>/dev/null && { rm -f /.testhost-ro; echo "/ is writable"; return 1; }
	fi
	return 0
}

nested_exit() {
	sh -c 'exit 5'
	rc=$?
	[ $rc -eq 5 ] || { echo "sh -c 'exit 5' gave $rc"; return 1; }
	# tools/testhost inside the test host runs its command directly.
	tools/testhost sh -c 'exit 5'
	rc=$?
	[ $rc -eq 5 ] || { echo "tools/testhost sh -c 'exit 5' gave $rc"; return 1; }
}

inside() {
	check "/dev/kvm usable (API version 12, KVM_CREATE_VM)" kvm_usable
	check "svm flag present" grep -q -w svm /proc/cpuinfo
	if [ "${CHARIOT_TESTHOST_INSIDE:-}" = 1 ]; then
		check "kvm_amd nested paging enabled" sh -c 'dmesg | grep -q "Nested Paging enabled"'
	fi
	check "checkout writable at the same path" checkout_writable
	check "exit status of a nested command" nested_exit
}

# ---- outside: each case runs tools/testhost ----------------------------------

TH=tools/testhost
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

case_quoting() {
	# Arguments with spaces, quotes, backslashes, $, newlines, empty; stdout
	# and stderr apart; exit status; a file written inside seen outside.
	f=build/testhost/.outside.$$
	rm -f "$f"
	$TH sh -c 'printf "[%s]\n" "$@"; echo to-stderr >&2; echo inside >"$0"; exit 7' \
		"$f" 'a b' "it's" '"dq"' '' '$HOME \ back' 'new
line' >"$T/out" 2>"$T/err"
	rc=$?
	printf '[%s]\n' 'a b' "it's" '"dq"' '' '$HOME \ back' 'new
line' >"$T/want"
	[ $rc -eq 7 ] || { echo "exit $rc, want 7"; return 1; }
	cmp -s "$T/out" "$T/want" || { echo "stdout differs:"; cat "$T/out"; return 1; }
	[ "$(cat "$T/err")" = to-stderr ] || { echo "stderr: $(cat "$T/err")"; return 1; }
	[ "$(cat "$f" 2>/dev/null)" = inside ] || { echo "$f not written"; return 1; }
	rm -f "$f"
}

case_pipes() {
	# Out here a file, inside not a tty either (a campaign's progress bar
	# goes by isatty); every line arrives, and the exit status.  Then
	# under a terminal (script's pty): ttys inside.
	$TH sh -c 'test -t 1 && echo stdout-tty; test -t 2 && echo stderr-tty >&2
		seq 1 20000; echo end >&2; exit 7' >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 7 ] || { echo "exit $rc, want 7"; return 1; }
	seq 1 20000 >"$T/want"
	cmp -s "$T/out" "$T/want" || { echo "stdout differs:"; head -3 "$T/out"; return 1; }
	[ "$(cat "$T/err")" = end ] || { echo "stderr: $(cat "$T/err")"; return 1; }
	script -qec "$TH sh -c 'test -t 1 && test -t 2 && echo both-ttys'" \
		/dev/null >"$T/tty" 2>&1 </dev/null
	grep -q both-ttys "$T/tty" || { echo "under a pty:"; cat "$T/tty"; return 1; }
}

case_true() {
	$TH true || { echo "exit $?"; return 1; }
}

case_timeout() {
	CHARIOT_TESTHOST_TIMEOUT=5 $TH sleep 600 2>"$T/err"
	rc=$?
	[ $rc -eq 124 ] || { echo "exit $rc, want 124"; cat "$T/err"; return 1; }
}

case_sigterm() {
	$TH sleep 600 2>/dev/null &
	pid=$!
	i=0
	while ! q=$(pgrep -P $pid qemu); do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "no qemu child"; kill $pid; return 1; }
		sleep 0.1
	done
	sleep 2
	kill -TERM $pid
	wait $pid
	rc=$?
	[ $rc -eq 143 ] || { echo "exit $rc, want 143"; return 1; }
	i=0
	while kill -0 $q 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "qemu $q still running"; return 1; }
		sleep 0.1
	done
}

case_panic() {
	$TH sh -c 'echo c >/proc/sysrq-trigger; sleep 60' 2>"$T/err"
	rc=$?
	[ $rc -eq 125 ] || { echo "exit $rc, want 125"; cat "$T/err"; return 1; }
	[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'kernel panic' "$T/err" ||
		{ echo "message:"; cat "$T/err"; return 1; }
}

case_heartbeat_kept() {
	# A command silent for longer than the heartbeat limit is no lockup.
	# (20 s: a 10 s limit was once missed in CI while the 2-core host
	# compiled beside the emulated one, whose booting kernel then took
	# over 10 s between beats.)
	out=$(CHARIOT_TESTHOST_HEARTBEAT=20 $TH sh -c 'sleep 45; echo done' 2>"$T/err")
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = done ] ||
		{ echo "exit $rc, stdout '$out'"; cat "$T/err"; return 1; }
}

case_heartbeat_lost() {
	# A test host whose vCPUs no longer run (QEMU's monitor: stop) beats
	# no heartbeat: tools/testhost ends it with 125, long before the
	# command's own end, as it would a livelocked kernel.
	CHARIOT_TESTHOST_HEARTBEAT=20 $TH sh -c 'echo up; sleep 150' \
		>"$T/out" 2>"$T/err" &
	pid=$!
	i=0
	until [ "$(cat "$T/out")" = up ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "the command never started"; kill $pid; return 1; }
		sleep 0.1
	done
	# Talk to the monitor prompt by prompt and ask it back: closing the
	# socket right after the banner once lost the stop (the command then
	# ran to its end, exit 0).
	python3 - build/testhost/jobs/$pid-*/hmp <<'EOF' || { kill $pid; return 1; }
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
def until_prompt():
    data = b""
    while not data.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("the monitor closed: %r" % data)
        data += chunk
    return data.decode(errors="replace")
until_prompt()
s.sendall(b"stop\n")
until_prompt()
s.sendall(b"info status\n")
status = until_prompt()
s.close()
if "paused" not in status:
    sys.exit("the test host did not stop: %r" % status)
EOF
	wait $pid
	rc=$?
	[ $rc -eq 125 ] && grep -q 'locked up (no heartbeat for 20 s)' "$T/err" ||
		{ echo "exit $rc, want 125; stderr:"; cat "$T/err"; return 1; }
}

case_direct() {
	out=$(CHARIOT_TESTHOST=direct $TH sh -c 'pwd -P; exit 3')
	rc=$?
	[ $rc -eq 3 ] && [ "$out" = "$CO" ] || { echo "exit $rc, pwd $out"; return 1; }
}

outside() {
	check "quoting, stdout/stderr, exit 7, file written inside seen outside" case_quoting
	check "stdout/stderr in files are pipes inside, ttys under a terminal; nothing lost" case_pipes
	check "tools/testhost true exits 0" case_true
	check "CHARIOT_TESTHOST_TIMEOUT kills a hung test host (exit 124)" case_timeout
	check "SIGTERM kills QEMU (exit 143)" case_sigterm
	check "kernel panic gives exit 125 and one line" case_panic
	check "a heartbeat keeps a silent command's test host alive" case_heartbeat_kept
	check "a test host with no heartbeat is ended (exit 125)" case_heartbeat_lost
	check "CHARIOT_TESTHOST=direct runs in the checkout" case_direct
}

if [ "${CHARIOT_TEST_OUTSIDE:-}" = 1 ]; then
	outside
else
	inside
fi
exit $failed
