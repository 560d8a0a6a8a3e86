#!/usr/bin/env python3
"""supervisord event listener for ./start.sh: records every unplanned exit and every restart.

Usage (an [eventlistener] in the supervisord.conf that start.sh writes):
    supervisor_events.py RUN_DIR

supervisord itself keeps no restart count and puts the exit reason only into its own log, so
this listener appends, for each program NAME:
  RUN_DIR/supervisor/NAME.exits     one line per unplanned exit: "TIME pid=PID REASON", REASON
                                    in supervisor's words ("terminated by SIGKILL; not expected",
                                    "exit status 1; not expected")
  RUN_DIR/supervisor/NAME.restarts  one line per restart supervisord made by itself (after an
                                    exit or a failed start, not one asked for by supervisorctl)
and marks both in the service's own log (RUN_DIR/logs/NAME.log), so a reader sees where the
previous process ended. `./start.sh status` reads the two files.

Speaks supervisor's eventlistener protocol on stdin/stdout (READY, header + payload, RESULT), so
stdout carries nothing else; diagnostics go to stderr (supervisord logs them).
"""
import datetime
import os
import re
import sys
import time

EXITED_LINE = re.compile(r"exited: (\S+) \((.*)\)\s*$")
SPAWNED_LINE = re.compile(r"spawned: '(\S+)' with pid (\d+)")


class SupervisordLog:
    """Follows supervisord.log, where supervisord writes "exited: NAME (REASON)" as it reaps a
    child, just before it sends us the matching event."""

    def __init__(self, path):
        self.path = path
        # Exits before this listener started are not ours to count.
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.pending = {}  # name -> [(pid, reason)] not yet matched with an event, oldest first
        self.spawned = {}  # name -> pid of its last spawn (a BACKOFF event names no pid)

    def _read_new(self):
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return
        if size < self.offset:  # rotated
            self.offset = 0
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines; the rest is read next time
        self.offset += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            m = EXITED_LINE.search(line)
            if m:
                name = m.group(1)
                self.pending.setdefault(name, []).append((self.spawned.get(name, "?"), m.group(2)))
            m = SPAWNED_LINE.search(line)
            if m:
                self.spawned[m.group(1)] = m.group(2)

    def exit(self, name):
        """(pid, reason) of NAME's oldest exit not yet reported."""
        # The line is normally there already; allow supervisord a moment to flush it.
        for _ in range(20):
            self._read_new()
            if self.pending.get(name):
                return self.pending[name].pop(0)
            time.sleep(0.05)
        return "?", "unknown reason (not found in supervisord.log)"


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def append(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def main():
    run = sys.argv[1]
    state_dir = os.path.join(run, "supervisor")
    logs_dir = os.path.join(run, "logs")
    log = SupervisordLog(os.path.join(state_dir, "supervisord.log"))
    me = os.environ.get("SUPERVISOR_PROCESS_NAME", "")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def handle(event, fields):
        name = fields.get("processname", "")
        if not name or name == me or "/" in name:
            return
        frm = fields.get("from_state", "")
        service_log = os.path.join(logs_dir, name + ".log")
        if event in ("PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF"):
            # EXITED: it ran past startsecs and then ended; BACKOFF: it ended during start-up.
            pid, reason = log.exit(name)
            append(os.path.join(state_dir, name + ".exits"),
                   "%s pid=%s %s" % (now(), fields.get("pid", pid), reason))
            append(service_log, "=== %s %s exited (%s)" % (now(), name, reason))
        elif event == "PROCESS_STATE_STARTING" and frm in ("EXITED", "BACKOFF"):
            # Restarts supervisord makes by itself; start.sh marks the starts it asks for.
            append(os.path.join(state_dir, name + ".restarts"), "%s after %s" % (now(), frm))
            append(service_log, "=== %s restarting %s" % (now(), name))
        elif event == "PROCESS_STATE_FATAL":
            append(service_log, "=== %s supervisor gave up on %s: it kept exiting during "
                   "start-up (FATAL; ./start.sh starts it again)" % (now(), name))

    while True:
        stdout.write(b"READY\n")
        stdout.flush()
        header = stdin.readline()
        if not header:
            return  # supervisord went away
        headers = dict(token.split(":", 1) for token in header.decode().split())
        payload = stdin.read(int(headers.get("len", "0"))).decode("utf-8", "replace")
        try:
            fields = dict(t.split(":", 1) for t in payload.split() if ":" in t)
            handle(headers.get("eventname", ""), fields)
        except Exception as e:  # a bad record must not stall supervisord's event queue
            print("supervisor_events: %s: %r" % (headers.get("eventname"), e), file=sys.stderr)
        stdout.write(b"RESULT 2\nOK")
        stdout.flush()


if __name__ == "__main__":
    main()
