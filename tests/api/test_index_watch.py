"""A running service follows the active index: a `docs add` run from another process (the CLI) is picked up
without a restart, as replicas behind a load balancer need."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

from helpers import test_settings
import pytest

from api.app import create_app

pytestmark = pytest.mark.slow
DOC = "测试市技术经纪人奖励办法（测试用虚构文件）\n第一条 对促成技术合同登记的技术经纪人，每促成一项奖励3000元。\n"


def test_service_loads_an_index_built_by_another_process(tmp_path, built_settings, cli_env):
    shutil.copytree(built_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(built_settings.data_dir, tmp_path / "data")
    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", index_poll_seconds=0.3)
    service = create_app(settings, ui=False, load_now=True).state.service
    deadline = time.monotonic() + 60
    while service.status != "ready" and time.monotonic() < deadline:
        time.sleep(0.05)
    before = service.get().info.collection

    doc = tmp_path / "broker.txt"
    doc.write_text(DOC, encoding="utf-8")
    env = {**cli_env, "PA_DATA_DIR": str(tmp_path / "data"), "PA_CORPUS_DIR": str(tmp_path / "corpus")}
    r = subprocess.run([sys.executable, "-m", "assistant", "docs", "add", str(doc)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr

    deadline = time.monotonic() + 60
    while service.get().info.collection == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assistant = service.get()
    assert assistant.info.collection != before, "the new active index was never loaded"
    ans = assistant.ask("技术经纪人每促成一项技术合同登记奖励多少？")
    assert ans.answerable and "3000元" in ans.answer and ans.citations[0].doc_id == "broker"
