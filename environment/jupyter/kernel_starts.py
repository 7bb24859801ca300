#!/usr/bin/python3
"""Starts the Java kernel many times and checks that every start answers on all of its channels.

    /usr/bin/python3 environment/jupyter/kernel_starts.py [--starts 50] [--parallel 1] [--kernel tinyrt-java]

A start counts as answered when, within --timeout seconds, the kernel replies to kernel_info (shell channel),
evaluates `6 * 7` to 42, echoes a heartbeat, and handles a shutdown request on the control channel.
Each of these runs on its own loop thread in rapaio-jupyter-kernel; the kernel as shipped loses one of them to a
start-up race in many starts (28 of 50 on a busy 2-core machine; see environment/jupyter/README.md). For a start that does not answer, the kernel's
thread names are printed (jstack), which shows which loop is missing. With --log, the kernels' output is also
searched for a loop thread that died or a request dropped during start-up, which a client's retry can hide.
Exit status 1 if any start failed or any such incident was logged.
"""
import argparse
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import zmq
from jupyter_client.manager import KernelManager


# what the kernel logs when a channel loop dies or a message arrives before the handlers exist
INCIDENTS = ("Exception in thread", "Unhandled message")


def thread_names(pid):
    jstack = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "jstack")
    try:
        out = subprocess.run([jstack, str(pid)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(jstack failed: {e})"
    names = [line.split('"')[1] for line in out.splitlines() if line.startswith('"')]
    loops = sorted(n for n in names if n.split("-")[0] in ("Shell", "Control", "Heartbeat"))
    return "loop threads alive: " + (", ".join(loops) or "none")


def heartbeat_answers(km, timeout):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(f"tcp://{km.ip}:{km.hb_port}")
        sock.send(b"ping")
        return sock.poll(int(timeout * 1000)) and sock.recv() == b"ping"
    finally:
        sock.close()


def reply_arrives(kc, msg_type, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))["msg_type"] == msg_type:
                return True
        except queue.Empty:
            return False
    return False


def one_start(kernel, timeout, log, ports):
    """Returns (problem or None, seconds until the kernel answered kernel_info)."""
    km = KernelManager(kernel_name=kernel)
    # Ports of this start's own (see main): jupyter_client picks free ports by binding and releasing them, so two
    # clients in separate processes can hand the same port to two kernels ("Address already in use" in CI).
    km.cache_ports = False
    km.shell_port, km.iopub_port, km.stdin_port, km.hb_port, km.control_port = ports
    km.start_kernel(stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels(hb=False)
    t0 = time.monotonic()
    problem, ready_s = None, None
    try:
        try:
            kc.wait_for_ready(timeout=timeout)
            ready_s = time.monotonic() - t0
        except RuntimeError:
            problem = f"no kernel_info reply on the shell channel in {timeout} s"
        if problem is None:
            results = []
            reply = kc.execute_interactive("6 * 7", timeout=timeout,
                                           output_hook=lambda m: results.append(m["content"]))
            # the kernel renders values as text/html by default
            values = [c["data"].get("text/plain", c["data"].get("text/html")) for c in results if "data" in c]
            if reply["content"]["status"] != "ok" or values != ["42"]:
                problem = f"6 * 7 gave {values} ({reply['content']['status']})"
        if problem is None and not heartbeat_answers(km, timeout):
            problem = "no heartbeat echo"
        if problem is None:
            # The kernel answers a shutdown_request from its control loop, but sends the reply through the shell
            # socket (jupyter_client gives both sockets one identity, so it arrives on the shell channel).
            kc.shutdown()
            if not reply_arrives(kc, "shutdown_reply", timeout):
                problem = f"no shutdown_reply {timeout} s after a shutdown_request on the control channel"
        if problem is not None and km.is_alive():
            problem += "; " + thread_names(km.provisioner.process.pid)
    finally:
        kc.stop_channels()
        # after a shutdown the JVM lingers while JShell's idle executor thread times out; Jupyter kills it too
        km.shutdown_kernel(now=True)
        km.cleanup_resources()
    return problem, ready_s


def logged_start(kernel, timeout, log_path, ports):
    with open(log_path, "a") as log:
        return one_start(kernel, timeout, log, ports)


PORTS_PER_START = 5


def ephemeral_low():
    """The lowest port the OS hands out to outgoing connections (Linux: ip_local_port_range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_base(starts):
    """The first of starts * 5 consecutive ports that are all free now (each start gets its own five).

    The range lies below the ephemeral ports: a port that is free when checked can otherwise become the local end
    of some outgoing connection (these clients' own, or Maven's) before its kernel binds it, which CI hit once."""
    import random
    import socket
    span = starts * PORTS_PER_START
    low = ephemeral_low()
    top = low - span
    if top <= 10000:
        raise SystemExit(f"no room for {span} kernel ports below the ephemeral range ({low})")
    for _ in range(100):
        base = random.randrange(10000, top)
        try:
            for port in range(base, base + span):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise SystemExit(f"no {span} consecutive free ports found for the kernels")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--kernel", default="tinyrt-java")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds each channel may take to answer")
    parser.add_argument("--parallel", type=int, default=1, help="kernels starting at the same time")
    parser.add_argument("--log", default=os.devnull,
                        help="file for the kernels' own output, then searched for start-up incidents")
    args = parser.parse_args()

    failures, ready = [], []
    started = time.monotonic()
    open(args.log, "w").close()
    # each start in its own process (separate Jupyter clients); --parallel 2 also loads the CPU harder
    with ProcessPoolExecutor(max_workers=args.parallel) as pool:
        base = port_base(args.starts)
        runs = {pool.submit(logged_start, args.kernel, args.timeout, args.log,
                            tuple(range(base + PORTS_PER_START * (i - 1), base + PORTS_PER_START * i))): i
                for i in range(1, args.starts + 1)}
        for done, run in enumerate(as_completed(runs), start=1):
            problem, ready_s = run.result()
            if ready_s is not None:
                ready.append(ready_s)
            if problem:
                failures.append(runs[run])
                print(f"  start {runs[run]}: FAILED: {problem}", flush=True)
            if done % 10 == 0:
                print(f"  {done} starts done", flush=True)
    ready.sort()
    answered = args.starts - len(failures)
    if args.log != os.devnull:
        # a loop thread that died, or a request dropped while the kernel was starting, even if a retry hid it
        with open(args.log) as f:
            incidents = [line.strip() for line in f if any(m in line for m in INCIDENTS)]
        for line in incidents[:5]:
            print(f"  kernel log: {line}")
        if incidents:
            failures.append("log")
            print(f"  {len(incidents)} start-up incidents in {args.log}")
    median = f"{ready[len(ready) // 2]:.1f} s" if ready else "n/a"
    print(f"kernel starts ({args.kernel}): {answered}/{args.starts} answered on all channels; "
          f"kernel_info after median {median}, max {max(ready, default=0):.1f} s; "
          f"total {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
