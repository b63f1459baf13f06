"""Dependency audit run by `./dev test` before pytest: pip-audit on the installed environment (.venv).

    .venv/bin/python .ci/audit.py [--ignore-file FILE] [-- PIP-AUDIT ARGS...]

Documented exceptions are read from .ci/audit-ignore.txt, one `ID  # reason` a line, and passed to
pip-audit as `--ignore-vuln ID`; an entry without a reason is an error. Our own package is not audited
(it is installed editable: --skip-editable; it is also left out by name).

Exit codes:
  0  no known advisory outside the documented exceptions; or the vulnerability service could not be
     reached or answered for no package: then a note says plainly that the audit was NOT done
  1  an advisory that is not in the ignore file (each is listed with its fix versions), or pip-audit failed
  2  a bad ignore file

PA_AUDIT_ARGS adds pip-audit arguments (e.g. "-s osv" to ask OSV instead of PyPI);
PA_AUDIT_TIMEOUT (seconds, default 600) bounds the whole run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OWN = {"policy-assistant"}
ID = re.compile(r"^(?:CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}|PYSEC-\d{4}-\d+|OSV-\d{4}-\d+|[A-Z]+-[\w.-]+)$")
# what a run that could not reach (or use) the vulnerability service leaves on stderr
UNREACHABLE = re.compile(r"ConnectionError|ConnectTimeout|ReadTimeout|Timeout|ServiceError|Max retries exceeded|"
                         r"NameResolutionError|Temporary failure in name resolution|Name or service not known|"
                         r"network may be blocking|SSLError|ProxyError|Could not connect", re.I)
NOT_AUDITED = "could not be audited"  # pip-audit's skip reason when the service has no answer for a package


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_ignores(path: Path) -> list[tuple[str, str]]:
    """[(advisory id, reason)] from `ID  # reason` lines; blank lines and whole-line comments are skipped."""
    out: list[tuple[str, str]] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vid, sep, reason = (part.strip() for part in line.partition("#"))
        if not sep or not reason:
            raise ValueError(f"{path}:{n}: {vid!r} has no reason; write `ID  # why it is accepted`")
        if not ID.match(vid) or " " in vid:
            raise ValueError(f"{path}:{n}: {vid!r} is not an advisory id (CVE-…, GHSA-…, PYSEC-…)")
        out.append((vid, reason))
    return out


def verdict(rc: int, report: dict[str, Any] | None, stderr: str, ignored: list[str]) -> tuple[int, list[str]]:
    """(exit code, lines to print) for one pip-audit run (`report`: its JSON output, None if it wrote none)."""
    if report is None:
        tail = (stderr.strip().splitlines() or ["(no output)"])[-1][:300]
        if UNREACHABLE.search(stderr):
            return 0, ["note: dependency audit NOT done: the vulnerability service could not be reached "
                       "(no network?); the tests run anyway.", f"  pip-audit: {tail}"]
        return 1, [f"error: pip-audit failed (exit {rc}) without a report:", stderr.strip()[-3000:]]
    deps = [d for d in report.get("dependencies", []) if _canon(d.get("name", "")) not in OWN]
    findings = [(d, v) for d in deps for v in d.get("vulns", [])]
    unanswered = [d for d in deps if NOT_AUDITED in d.get("skip_reason", "")]
    checked = [d for d in deps if "version" in d and "skip_reason" not in d]
    exceptions = f" ({len(ignored)} documented exception(s) ignored: {', '.join(ignored)})" if ignored else ""
    if findings:
        lines = [f"error: pip-audit found {len(findings)} known vulnerabilit{'y' if len(findings) == 1 else 'ies'} "
                 f"not in .ci/audit-ignore.txt{exceptions}:"]
        for d, v in findings:
            fix = ", ".join(v.get("fix_versions") or []) or "no fixed release"
            aliases = ", ".join(v.get("aliases") or [])
            desc = (v.get("description") or "").strip().replace("\n", " ")
            lines.append(f"  {d['name']} {d.get('version', '?')}: {v['id']}"
                         f"{f' ({aliases})' if aliases else ''}; fix: {fix}" + (f"\n      {desc[:200]}" if desc else ""))
        lines.append("Upgrade to a fixed release (raise the pin in pyproject.toml), or, if it cannot apply to us, "
                     "add `ID  # reason` to .ci/audit-ignore.txt.")
        return 1, lines
    if unanswered and not checked:
        return 0, [f"note: dependency audit NOT done: the vulnerability service answered for none of the "
                   f"{len(unanswered)} installed packages (pip-audit: “{unanswered[0]['skip_reason']}”); "
                   "the tests run anyway. Run it where PyPI's JSON API is reachable, or with PA_AUDIT_ARGS='-s osv'."]
    lines = [f"pip-audit: {len(checked)} packages checked, no known vulnerabilities{exceptions}."]
    if unanswered:
        lines.append(f"note: {len(unanswered)} package(s) could not be checked: "
                     f"{', '.join(d['name'] for d in unanswered[:20])}{' …' if len(unanswered) > 20 else ''}")
    return 0, lines


def run(ignore_file: Path, extra: list[str], timeout: float) -> tuple[int, list[str]]:
    try:
        ignores = read_ignores(ignore_file)
    except (OSError, ValueError) as exc:
        return 2, [f"error: {exc}"]
    ids = [vid for vid, _ in ignores]
    with tempfile.TemporaryDirectory(prefix="pa-audit-") as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "--desc", "on",
               "--aliases", "on", "-f", "json", "-o", str(out), *[a for vid in ids for a in ("--ignore-vuln", vid)],
               *extra]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 0, [f"note: dependency audit NOT done: pip-audit did not finish in {timeout:.0f} s "
                       "(vulnerability service unreachable?); the tests run anyway."]
        if "No module named pip_audit" in proc.stderr:
            return 1, ["error: pip-audit is not installed in this environment: pip install -e '.[test]'"]
        report = None
        if out.exists():
            try:
                report = json.loads(out.read_text(encoding="utf-8"))
            except ValueError:
                report = None
    return verdict(proc.returncode, report, proc.stderr, ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pip-audit with documented exceptions (see the module doc).")
    parser.add_argument("--ignore-file", type=Path, default=HERE / "audit-ignore.txt")
    parser.add_argument("extra", nargs="*", help="more pip-audit arguments (after --)")
    args = parser.parse_args(argv)
    extra = shlex.split(os.environ.get("PA_AUDIT_ARGS", "")) + args.extra
    code, lines = run(args.ignore_file, extra, float(os.environ.get("PA_AUDIT_TIMEOUT", "600")))
    for line in lines:
        print(line, file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
