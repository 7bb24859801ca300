#!/usr/bin/python3
"""Executes notebooks headless, fails on any error, and exports each one to HTML.

    /usr/bin/python3 environment/jupyter/run_notebooks.py [--out build/notebooks] notebooks/*.ipynb

What `jupyter nbconvert --to notebook --execute` does, plus the checks it lacks:
  - a cell with an error output fails the notebook (as in nbconvert), and so does a dead kernel;
  - a failed `%dependency /resolve` fails it too: the kernel only prints that on stderr and reports the cell
    as successful, so stderr streams are searched for the kernel's failure messages;
  - `%load FILE` of a file that does not exist fails it: the kernel skips such a line without a word;
  - the HTML export must hold plotly.js exactly once when the notebook draws charts, one plot per chart
    element, and no reference to a plotly CDN (it has to work offline).
The executed notebook, its HTML and the kernel's log go to --out (not committed: executed outputs carry
~4.5 MB of plotly.js and change with every run).
Exit status 1 if any notebook failed.
"""
import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.preprocessors.coalescestreams import coalesce_streams

# what rapaio-jupyter-kernel 3.0.1 writes to stderr when `%dependency /resolve` fails (DependencyHandler)
RESOLVE_FAILURES = ("Could not resolve dependencies", "Proposed dependencies could not be resolved")
PLOTLY_BANNER = "* plotly.js v2.35.3\n"
LOAD_LINE = re.compile(r"^\s*%load\s+(\S.*?)\s*$", re.MULTILINE)


def missing_loads(nb, directory):
    """`%load` targets that do not exist, relative to the notebook's directory (the kernel's working dir)."""
    missing = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for target in LOAD_LINE.findall(cell.source):
                if not os.path.isfile(os.path.join(directory, target)):
                    missing.append(target)
    return missing


def output_problems(nb):
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index} ({cell.source.strip().splitlines()[0][:60] if cell.source.strip() else 'empty'})"
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"{where}: {out.ename}: {out.evalue}".strip())
            elif out.output_type == "stream" and out.name == "stderr":
                for marker in RESOLVE_FAILURES:
                    if marker in out.text:
                        problems.append(f"{where}: dependency resolution failed: {out.text.strip()[:300]}")
    return problems


def html_problems(nb, html):
    figures = sum(len(re.findall(r"Plotly\.newPlot\(target_", str(out.get("data", {}).get("text/html", ""))))
                  for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    problems = []
    copies = html.count(PLOTLY_BANNER)
    if figures and copies != 1:
        problems.append(f"HTML holds plotly.js {copies} times for {figures} charts; want exactly once")
    if re.search(r"<script[^>]+src=[\"'][^\"']*plot\.?ly", html):
        problems.append("HTML loads plotly from a CDN")
    divs = len(re.findall(r"<div id='tinyrt_figure_", html))
    if divs != figures:
        problems.append(f"HTML has {divs} chart elements for {figures} Plotly.newPlot calls")
    return problems, figures


def run(path, out_dir, kernel, timeout):
    directory = os.path.dirname(os.path.abspath(path))
    nb = nbformat.read(path, as_version=4)
    problems = [f"%load of a missing file: {m}" for m in missing_loads(nb, directory)]
    figures = 0
    if not problems:
        name = os.path.splitext(os.path.basename(path))[0]
        os.makedirs(out_dir, exist_ok=True)
        client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, startup_timeout=60, allow_errors=True,
                                resources={"metadata": {"path": directory}})
        # the kernel process's own output (class path, log lines) is not the notebook's: keep it aside
        with open(os.path.join(out_dir, name + ".kernel.log"), "w") as kernel_log:
            try:
                client.execute(stdout=kernel_log, stderr=kernel_log)
            except Exception as e:  # a dead kernel or a cell past its timeout
                problems.append(f"execution stopped: {type(e).__name__}: {str(e).strip()[:300]}")
        # one stream output per flush is how tokens stream in; saved, they read better merged
        coalesce_streams(nb, {})
        problems += output_problems(nb)
        nbformat.write(nb, os.path.join(out_dir, name + ".ipynb"))
        html, _ = HTMLExporter().from_notebook_node(nb)
        with open(os.path.join(out_dir, name + ".html"), "w", encoding="utf-8") as f:
            f.write(html)
        more, figures = html_problems(nb, html)
        problems += more
    return problems, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--out", default="build/notebooks", help="executed notebooks and HTML go here")
    parser.add_argument("--kernel", default="tinyrt-java")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may run")
    args = parser.parse_args()

    failed = 0
    for path in args.notebooks:
        started = time.monotonic()
        problems, figures = run(path, args.out, args.kernel, args.timeout)
        seconds = time.monotonic() - started
        if problems:
            failed += 1
            print(f"  FAIL {path} ({seconds:.0f} s)")
            for p in problems:
                print(f"       {p}")
        else:
            print(f"  ok   {path} ({seconds:.0f} s, {figures} charts)")
    print(f"notebooks: {len(args.notebooks) - failed} of {len(args.notebooks)} ran clean; outputs in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
