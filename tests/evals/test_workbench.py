"""The evaluation workbench end to end: a staff CSV set through the CLI (results, summary, report), compare,
and the admin API running a set in the background."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from helpers import test_settings
import pytest
from fastapi.testclient import TestClient

CSV = (
    "编号,问题,标准答案要点,依据原文,类别,上一题\n"
    "S1,到2025年高新技术企业数量目标是多少？,6000,高新技术企业数(家),数字,\n"
    "S2,那2020年呢？,4142,高新技术企业数(家),追问,S1\n"
    "S3,长沙市的房价是多少？,,,无答案,\n"
    "S4,科技型中小企业2025年目标是多少？,5000；2621,科技型中小企业数(家),figure,\n"
)


@pytest.fixture(scope="module")
def csv_set(tmp_path_factory):
    path = tmp_path_factory.mktemp("set") / "staff-set.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")  # Excel writes a BOM
    return path


def run_cli(cli_env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "evals", *args], env={**cli_env, **kw}, capture_output=True,
                          text=True, timeout=300)


def test_csv_set_end_to_end_and_compare(cli_env, csv_set, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = run_cli(cli_env, "run", str(csv_set), "--out", str(a))
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout.strip().splitlines()[-1])
    assert metrics["items"] == 4 and metrics["hit@1"] == 1.0 and metrics["refusal_acc"] == 1.0
    assert "ndcg@10" in metrics
    rows = [json.loads(line) for line in (a / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["S1", "S2", "S3", "S4"]
    assert "4142" in rows[1]["answer"]  # the follow-up got its history
    summary = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"]["mode"] == "extractive" and summary["settings"]["done"] == 4
    assert set(summary["by_category"]) == {"figure", "followup", "unanswerable"}
    html = (a / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "失败条目（0）" in html  # every item passed: an empty failure list

    r = run_cli(cli_env, "run", str(csv_set), "--out", str(b), PA_FUSION="dense")
    assert r.returncode == 0, r.stderr
    r = run_cli(cli_env, "compare", str(a), str(b))
    assert r.returncode == 0, r.stderr
    assert "hit@1" in r.stdout and "fusion" in r.stdout  # the changed setting is shown
    assert (b / "compare.html").is_file()


def test_bad_csv_names_row_and_column(cli_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("问题,类别\n,数字\n测试,\"" + "x" * 41 + "\"\n", encoding="utf-8")
    r = run_cli(cli_env, "run", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "第2行 “问题” 为空" in r.stderr and "第3行 “类别”" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_admin_api_runs_a_set_in_the_background(built_settings, assistant, csv_set, tmp_path):
    from api.app import create_app


    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=built_settings.corpus_dir, admin_token="evals-token")
    client = TestClient(create_app(settings, assistant=assistant, ui=False))
    files = {"file": ("staff-set.csv", csv_set.read_bytes(), "text/csv")}
    assert client.post("/v1/evals", files=files).status_code == 401
    auth = {"Authorization": "Bearer evals-token"}
    bad = client.post("/v1/evals", files={"file": ("x.csv", "问题,类别\n,数字\n".encode(), "text/csv")}, headers=auth)
    assert bad.status_code == 422 and "第2行" in bad.json()["detail"]
    started = client.post("/v1/evals", files=files, headers=auth).json()
    run_id = started["run_id"]
    assert started["total"] == 4
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/v1/evals/{run_id}", headers=auth).json()
        if status["status"] != "running":
            break
        time.sleep(0.2)
    assert status["status"] == "done", status
    assert status["done"] == 4 and status["summary"]["metrics"]["hit@1"] == 1.0
    report = client.get(f"/v1/evals/{run_id}/report", headers=auth)
    assert report.status_code == 200 and "<svg" in report.text
    assert client.get("/v1/evals/nope", headers=auth).status_code == 404
    no_token = create_app(built_settings, assistant=assistant, ui=False)
    assert TestClient(no_token).post("/v1/evals", files=files).status_code == 403
