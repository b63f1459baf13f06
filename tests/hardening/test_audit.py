"""The dependency audit `./dev test` runs first (.ci/audit.py around pip-audit, exceptions in .ci/audit-ignore.txt).

End to end, the real pip-audit audits this environment against a local OSV-compatible vulnerability service
(real HTTP on 127.0.0.1) that advertises the chromadb advisories, optionally one new advisory, or fails:
a documented exception passes, a new advisory fails the command, an unreachable service only prints a note.
The advisory data served here is the public chromadb advisories' ids; the "new" advisory is invented.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

CHROMA = [("GHSA-f4j7-r4q5-qw2c", ["CVE-2026-45829", "PYSEC-2026-311"]), ("GHSA-36p7-vc44-83pf", ["CVE-2026-45833"]),
          ("GHSA-2wm9-hf6c-p5cr", ["CVE-2026-45830"]), ("GHSA-xph7-9rjv-w5fr", ["CVE-2026-45831"])]
NEW = ("GHSA-test-0000-0001", ["CVE-2099-00001"])  # invented: an advisory nobody has documented


def _vuln(package: str, vid: str, aliases: list[str], fixed: str | None = None) -> dict:
    events = [{"introduced": "0"}] + ([{"fixed": fixed}] if fixed else [])
    return {"id": vid, "aliases": aliases, "summary": f"test advisory {vid}",
            "affected": [{"package": {"name": package, "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}


class OSV:
    """An OSV-compatible /v1/query endpoint: {package name: [vulns]}; status 500 when `fail`."""

    def __init__(self, vulns: dict[str, list[dict]], fail: bool = False):
        self.vulns, self.fail, self.queried = vulns, fail, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.queried.append(body["package"]["name"])
                if outer.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                found = outer.vulns.get(body["package"]["name"])
                data = json.dumps({"vulns": found} if found else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/query"

    def __enter__(self) -> OSV:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_audit(osv_url: str, capsys, ignore_file: Path | None = None) -> tuple[int, str]:
    args = ["--ignore-file", str(ignore_file)] if ignore_file else []
    code = audit.main([*args, "--", "-s", "osv", "--osv-url", osv_url])
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def _no_env_args(monkeypatch):
    monkeypatch.delenv("PA_AUDIT_ARGS", raising=False)
    monkeypatch.setenv("PA_AUDIT_TIMEOUT", "300")


# ---------------------------------------------------------------- end to end: the real pip-audit
def test_documented_chromadb_advisories_pass(capsys):
    with OSV({"chromadb": [_vuln("chromadb", v, a) for v, a in CHROMA]}) as osv:
        code, err = run_audit(osv.url, capsys)
    assert code == 0, err
    assert "packages checked, no known vulnerabilities (4 documented exception(s) ignored: CVE-2026-45829" in err
    assert "chromadb" in osv.queried and "numpy" in osv.queried  # the installed environment was audited
    assert "policy-assistant" not in osv.queried  # our own package is not


def test_a_new_advisory_fails(capsys):
    vulns = {"chromadb": [_vuln("chromadb", v, a) for v, a in CHROMA], "numpy": [_vuln("numpy", *NEW, fixed="99.0")]}
    with OSV(vulns) as osv:
        code, err = run_audit(osv.url, capsys)
    assert code == 1
    assert "error: pip-audit found 1 known vulnerability not in .ci/audit-ignore.txt" in err
    assert "numpy" in err and "CVE-2099-00001" in err and "fix: 99.0" in err
    assert "CVE-2026-45829" not in err.split("\n", 1)[1]  # the documented ones are not listed as findings


def test_an_undocumented_chromadb_advisory_fails(tmp_path, capsys):
    ignore = tmp_path / "ignore.txt"
    ignore.write_text("CVE-2026-45830  # test: only one of the four documented\n", encoding="utf-8")
    with OSV({"chromadb": [_vuln("chromadb", v, a) for v, a in CHROMA]}) as osv:
        code, err = run_audit(osv.url, capsys, ignore)
    assert code == 1
    assert "found 3 known vulnerabilities" in err and "no fixed release" in err


def test_unreachable_service_is_a_note(capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = run_audit(f"http://127.0.0.1:{port}/v1/query", capsys)
    assert code == 0
    assert err.startswith("note: dependency audit NOT done: the vulnerability service could not be reached")


def test_failing_service_is_a_note(capsys):
    with OSV({}, fail=True) as osv:
        code, err = run_audit(osv.url, capsys)
    assert code == 0 and "dependency audit NOT done" in err


# ---------------------------------------------------------------- the ignore file
def test_the_ignore_file_documents_every_exception():
    entries = audit.read_ignores(ROOT / ".ci" / "audit-ignore.txt")
    assert [vid for vid, _ in entries] == ["CVE-2026-45829", "CVE-2026-45833", "CVE-2026-45830", "CVE-2026-45831"]
    assert all(len(reason) > 20 for _, reason in entries)


@pytest.mark.parametrize("line, problem", [
    ("CVE-2026-45829", "has no reason"),
    ("CVE-2026-45829  #   ", "has no reason"),
    ("chromadb  # the whole package", "is not an advisory id"),
])
def test_a_bad_ignore_file_stops_the_audit(tmp_path, capsys, line, problem):
    ignore = tmp_path / "ignore.txt"
    ignore.write_text(f"# comment\n\n{line}\n", encoding="utf-8")
    assert audit.main(["--ignore-file", str(ignore)]) == 2
    err = capsys.readouterr().err
    assert "ignore.txt:3: " in err and problem in err


# ---------------------------------------------------------------- how a report is read
def _dep(name: str, version: str = "1.0", vulns: list | None = None, skip: str | None = None) -> dict:
    return {"name": name, "skip_reason": skip} if skip else {"name": name, "version": version, "vulns": vulns or []}


def test_verdict_reading():
    nf = "Dependency not found on PyPI and could not be audited: x (1.0)"
    # PyPI's JSON API answering for no package (as on a machine whose registry mirror lacks it): not done, a note
    code, lines = audit.verdict(0, {"dependencies": [_dep("a", skip=nf), _dep("b", skip=nf),
                                                     _dep("policy-assistant", skip="distribution marked as editable")]},
                                "", [])
    assert code == 0 and lines[0].startswith("note: dependency audit NOT done") and "none of the 2" in lines[0]
    # some answered: checked, with a note naming the others
    code, lines = audit.verdict(0, {"dependencies": [_dep("a"), _dep("b", skip=nf)]}, "", [])
    assert code == 0 and lines[0].startswith("pip-audit: 1 packages checked") and lines[1].endswith(": b")
    # a finding in our own package (should it ever be installed non-editable under a taken name) is not ours to fix
    vuln = {"id": "PYSEC-1", "fix_versions": [], "aliases": []}
    assert audit.verdict(1, {"dependencies": [_dep("policy_assistant", vulns=[vuln]), _dep("a")]}, "", [])[0] == 0
    assert audit.verdict(1, {"dependencies": [_dep("a", vulns=[vuln])]}, "", [])[0] == 1
    # no report: unreachable -> note; anything else -> failure
    assert audit.verdict(1, None, "requests.exceptions.ConnectionError: Max retries exceeded", [])[0] == 0
    code, lines = audit.verdict(1, None, "Traceback ...\nKeyError: 'dependencies'", [])
    assert code == 1 and lines[0].startswith("error: pip-audit failed")
