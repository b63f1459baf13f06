"""The README's code runs as shown: every ```python block, and every `python -m assistant|evals …` command
with --help (its options must be the command's own).

Python blocks run in a fresh interpreter against the session's test index (PA_DATA_DIR) and a real server
of it: the README's `http://127.0.0.1:8000` becomes that server's address, and an external LLM endpoint
becomes the OpenAI-compatible test server. Nothing else in a block is changed.
"""
from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
SHELL_BLOCKS = re.findall(r"```(?:bash|sh)\n(.*?)```", README, re.S)
_COMMAND = re.compile(r"(?:\.venv/bin/)?python -m (assistant|evals)((?: [a-z][a-z-]*)*)(.*)")
EXTERNAL_LLM = re.compile(r"https://[a-z.]+/compatible-mode/v1|https://api\.[a-z]+\.com/v1")


def readme_commands() -> list[tuple[str, str, list[str]]]:
    """(package, subcommand words, the --options the line shows) for each command line of the README."""
    found = []
    for block in SHELL_BLOCKS:
        for line in block.splitlines():
            m = _COMMAND.search(line.split("  #")[0])
            if m:
                found.append((m.group(1), m.group(2).strip(), re.findall(r"(?<![\w-])--[a-z][a-z-]*", m.group(3))))
    return list(dict.fromkeys((p, s, tuple(o)) for p, s, o in found))  # type: ignore[arg-type]


def test_the_readme_has_code_to_check():
    assert len(PYTHON_BLOCKS) >= 4
    assert {s for _, s, _ in readme_commands()} >= {"serve", "index", "ask", "docs add", "run", "bench"}


def test_every_readme_command_answers_help_with_the_options_it_shows(cli_env):
    def run(cmd):
        package, words, options = cmd
        proc = subprocess.run([sys.executable, "-m", package, *words.split(), "--help"], cwd=REPO_ROOT,
                              env={**cli_env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120)
        return cmd, proc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, readme_commands()))
    problems = []
    for (package, words, options), proc in results:
        shown = f"python -m {package} {words}"
        if proc.returncode != 0:
            problems.append(f"{shown} --help exited {proc.returncode}: {proc.stderr[-300:]}")
            continue
        missing = [o for o in options if o not in proc.stdout]
        if missing:
            problems.append(f"{shown}: the README shows {missing}, --help does not list them")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def llm_server():
    from openai_test_server import OpenAITestServer

    with OpenAITestServer(model="qwen-plus") as srv:
        yield srv


@pytest.mark.slow
@pytest.mark.parametrize("n", range(len(PYTHON_BLOCKS)), ids=lambda n: f"block{n + 1}")
def test_readme_python_block_runs(n, cli_env, live_server, llm_server, tmp_path):
    code = PYTHON_BLOCKS[n].replace("http://127.0.0.1:8000", live_server)
    code = EXTERNAL_LLM.sub(llm_server.url, code)
    script = tmp_path / f"readme_block_{n + 1}.py"
    script.write_text(code, encoding="utf-8")
    env = {**cli_env, "OPENAI_API_KEY": "unused"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 0, f"README python block {n + 1} failed:\n{code}\n---\n{proc.stderr[-3000:]}"
