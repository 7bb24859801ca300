#!/usr/bin/python3
"""Each kind of failure that run_notebooks.py must catch, on a small notebook that has it.

    /usr/bin/python3 -m unittest discover -s environment/jupyter/tests -v

The notebooks next to this file run in the real kernel (tinyrt-java); each must make run_notebooks.py exit 1
with the expected reason. The passing case is covered by notebooks/ itself, which CI runs with the same tool.
"""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "run_notebooks.py")


def run(fixture):
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(["/usr/bin/python3", RUNNER, "--out", out, os.path.join(HERE, fixture + ".ipynb")],
                                capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


class RunNotebooksCatchesFailures(unittest.TestCase):
    def assertFails(self, fixture, *reasons):
        code, output = run(fixture)
        self.assertEqual(1, code, output)
        self.assertIn(f"FAIL {os.path.join(HERE, fixture)}.ipynb", output)
        for reason in reasons:
            self.assertIn(reason, output)

    def test_failed_dependency_resolution_fails_although_the_kernel_reports_success(self):
        self.assertFails("failed_dependency", "cell 2 (%dependency /resolve): dependency resolution failed")

    def test_exception(self):
        self.assertFails("exception", "cell 1 (if (x == 42) {): ", "raised on purpose")

    def test_compile_error(self):
        self.assertFails("compile_error", "cell 0 (String s = undefinedVariable;): ")

    def test_load_of_a_missing_file_fails_before_the_kernel_starts(self):
        self.assertFails("missing_load", "%load of a missing file: ../no/such/script.java")

    def test_a_cell_that_ends_the_kernel(self):
        self.assertFails("system_exit", "execution stopped: DeadKernelError")


if __name__ == "__main__":
    unittest.main()
