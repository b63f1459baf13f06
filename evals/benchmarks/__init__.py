"""Benchmarks (`python -m evals bench | load | soak | library-bench | scale-bench | integrations-bench |
ocr-bench | hardening-bench`): speed, memory and growth measured in one run, never asserted by a timed test."""
