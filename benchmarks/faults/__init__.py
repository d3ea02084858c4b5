"""Fault injection: kill training at random moments and resume it; load the bench runner.

Run as scripts (`python -m benchmarks.faults.kill_resume`, `python -m
benchmarks.faults.load`); the test suite runs small versions of both.
"""
