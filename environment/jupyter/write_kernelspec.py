#!/usr/bin/env python3
"""Writes kernel.json of the tinyrt Java kernel (called by setup_jupyter.sh).

The kernel's own installer (`-i -auto`) writes a bare `java` into argv, which is Java 17 on this machine, and no
JVM flags; this file is written instead, with absolute paths:
  - argv: JDK 25's java, the Vector API and native-access flags, our kernel fix jar before the kernel jar;
  - RJK_COMPILER_OPTIONS: the Vector API module for JShell's compiler as well;
  - RJK_CLASSPATH: the tinyrt library and its runtime dependencies (';'-separated, as the kernel expects);
  - RJK_MIMA_CACHE: ~/.m2/repository, so `%dependency` shares Maven's cache. The kernel resolves this value
    against the directory of its jar even when it is absolute, so a path relative to that directory is written;
  - TINYRT_PLOTLY_JS: the plotly.js that dev.tinyrt.notebook inlines; OPT_OUT_TRACKING for DJL.
"""
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--kernel-dir", required=True)
parser.add_argument("--java-home", required=True)
parser.add_argument("--jars", nargs="+", required=True, help="kernel class path, in order")
parser.add_argument("--library", required=True, help="the tinyrt jar")
parser.add_argument("--library-classpath", required=True, help="file with the library's dependencies, ':'-separated")
parser.add_argument("--maven-repo", required=True)
parser.add_argument("--plotly-js", required=True)
args = parser.parse_args()

jvm_flags = ["--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"]
with open(args.library_classpath) as f:
    dependencies = [p for p in f.read().strip().split(os.pathsep) if p]
missing = [p for p in [args.library, *dependencies, *args.jars, args.plotly_js] if not os.path.isfile(p)]
if missing:
    sys.exit("write_kernelspec: missing files: " + ", ".join(missing))

jar_dir = os.path.dirname(os.path.abspath(args.jars[-1]))
kernel = {
    "argv": [os.path.join(args.java_home, "bin", "java"), *jvm_flags,
             "-cp", os.pathsep.join(args.jars), "org.rapaio.jupyter.kernel.MainApp", "{connection_file}"],
    "display_name": "Java 25 (tinyrt)",
    "language": "java",
    "interrupt_mode": "message",
    "env": {
        "JAVA_HOME": args.java_home,
        "RJK_COMPILER_OPTIONS": "--add-modules jdk.incubator.vector",
        "RJK_CLASSPATH": ";".join([args.library, *dependencies]),
        "RJK_MIMA_CACHE": os.path.relpath(args.maven_repo, jar_dir),
        "TINYRT_PLOTLY_JS": args.plotly_js,
        "OPT_OUT_TRACKING": "true",
    },
    "metadata": {"debugger": False},
}
os.makedirs(args.kernel_dir, exist_ok=True)
with open(os.path.join(args.kernel_dir, "kernel.json"), "w") as f:
    json.dump(kernel, f, indent=2)
    f.write("\n")
