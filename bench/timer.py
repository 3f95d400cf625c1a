#!/usr/bin/env python3
"""Time one command as a whole process.

    python3 -S timer.py [--timeout SECONDS] [--stdout FILE] [--stderr FILE] -- COMMAND...

Starts COMMAND (searched on PATH) with os.posix_spawnp in a process group of
its own, its standard input from /dev/null and its output sent to the given
files (default /dev/null), waits for it with os.wait4, and prints one line:

    WALL_SECONDS PEAK_MIB STATUS

WALL_SECONDS is the wall-clock time from just before the spawn to the
reaping of the child. PEAK_MIB is the child's ru_maxrss / 1024 (Linux gives
kilobytes): the peak resident set of the largest process among the child and
the descendants it waited for. Linux counts the spawning process's own
resident set into that peak, so no figure reads below this timer's footprint
(a few MiB; `-S` keeps it small). STATUS is the exit code (0 for success),
SIG<n> when a signal ended the child, TIMEOUT when it ran past the limit (its
whole process group is then killed), or NOEXEC when it could not be started.

The timer exits 0 whenever it printed a line; callers read STATUS from the
line. Only os, signal, sys and time are imported, to keep the footprint low.
"""

import os
import signal
import sys
import time

USAGE = "usage: timer.py [--timeout S] [--stdout FILE] [--stderr FILE] -- COMMAND..."


def parse(argv):
    options = {"--timeout": "120", "--stdout": os.devnull, "--stderr": os.devnull}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return options, argv[i + 1:]
        if arg in options and i + 1 < len(argv):
            options[arg] = argv[i + 1]
            i += 2
        else:
            return options, argv[i:]
    return options, []


def main():
    options, command = parse(sys.argv[1:])
    if not command:
        sys.stderr.write(USAGE + "\n")
        return 2
    timeout = float(options["--timeout"])

    out = os.open(options["--stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(options["--stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, out, 1),
        (os.POSIX_SPAWN_DUP2, err, 2),
    ]

    state = {"pid": 0, "timed_out": False}

    def on_alarm(signum, frame):
        state["timed_out"] = True
        try:
            os.killpg(state["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, on_alarm)

    start = time.perf_counter()
    try:
        pid = os.posix_spawnp(command[0], command, os.environ,
                              file_actions=actions, setpgroup=0)
    except OSError as error:
        os.write(err, ("timer.py: cannot run %s: %s\n" % (command[0], error)).encode())
        print("0.000000 0.0 NOEXEC")
        return 0
    state["pid"] = pid
    signal.setitimer(signal.ITIMER_REAL, timeout)
    # wait4 is retried by Python after the alarm handler runs (PEP 475).
    _, wait_status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    os.close(out)
    os.close(err)

    # Nothing the child left behind in its group may outlive the measurement.
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    if state["timed_out"]:
        status = "TIMEOUT"
    elif os.WIFSIGNALED(wait_status):
        status = "SIG%d" % os.WTERMSIG(wait_status)
    else:
        status = str(os.WEXITSTATUS(wait_status))
    print("%.6f %.1f %s" % (wall, usage.ru_maxrss / 1024.0, status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
