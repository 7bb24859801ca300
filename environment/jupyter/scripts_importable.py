#!/usr/bin/python3
"""Proves that every JBang script runs both ways: as a command and loaded into a notebook kernel.

    /usr/bin/python3 environment/jupyter/scripts_importable.py [--kernel tinyrt-java]

For each jbang-scripts/X.java: `jbang X.java --help` must exit 0; in one kernel, `%load jbang-scripts/X.java`
followed by `CommandRunner.run(new X(), "--help")` must return 0 without an error output; and both must print
the same usage text, which shows that the notebook gets the very command the script defines. (Notebooks call
CommandRunner.run rather than main: main ends with System.exit, which would end the kernel.)
Exit status 1 if any script fails either way.
"""
import argparse
import glob
import os
import subprocess
import sys

from jupyter_client.manager import KernelManager

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_cell(kc, code, timeout=120):
    """Returns (stdout text, error outputs, the cell's value as text or None)."""
    stdout, errors, values = [], [], []

    def collect(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            stdout.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "execute_result":
            values.append(content["data"].get("text/plain", content["data"].get("text/html")))

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=collect)
    if reply["content"]["status"] != "ok" and not errors:
        errors.append(f"status {reply['content']['status']}")
    return "".join(stdout), errors, values[-1] if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="tinyrt-java")
    args = parser.parse_args()

    scripts = sorted(glob.glob(os.path.join(ROOT, "jbang-scripts", "*.java")))
    if not scripts:
        print("scripts importable: no scripts found in jbang-scripts/")
        return 1
    failures = 0
    km = KernelManager(kernel_name=args.kernel)
    with open(os.devnull, "w") as quiet:
        km.start_kernel(cwd=ROOT, stdout=quiet, stderr=quiet)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        run_cell(kc, "import dev.tinyrt.cli.CommandRunner;")
        for script in scripts:
            name = os.path.splitext(os.path.basename(script))[0]
            relative = os.path.relpath(script, ROOT)
            command = subprocess.run(["jbang", relative, "--help"], cwd=ROOT, capture_output=True, text=True,
                                     timeout=300)
            _, load_errors, _ = run_cell(kc, f"%load {relative}")
            help_text, errors, value = run_cell(kc, f'CommandRunner.run(new {name}(), "--help")')
            problems = []
            if command.returncode != 0:
                problems.append(f"jbang {relative} --help exited {command.returncode}: {command.stderr.strip()[-300:]}")
            if load_errors or errors or value != "0":
                problems.append(f"in the kernel: {'; '.join(load_errors + errors) or f'exit code {value}'}")
            elif not help_text.startswith("Usage: "):
                problems.append(f"in the kernel, --help printed no usage: {help_text[:200]!r}")
            elif command.returncode == 0 and help_text != command.stdout:
                problems.append("the kernel's usage text differs from the command line's")
            if problems:
                failures += 1
                print(f"  FAIL {relative}")
                for p in problems:
                    print(f"       {p}")
            else:
                print(f"  ok   {relative}: jbang --help and %load + CommandRunner.run print the same usage")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(f"scripts importable: {len(scripts) - failures} of {len(scripts)} run both ways")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
