"""benchmarks/examples.py: the docs' command transcripts come from a committed results file.
`--write` rewrites exactly the marked blocks, `--check` names the page and id of a block
that differs from its record or has none, and a record carries the schema and provenance
every record of the zoo does. No example command runs here: the CLI's process is faked."""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import examples
from zoo import record

ROOT = Path(__file__).resolve().parent.parent

PAGE = """\
# A page

An unmarked block stays as it is:

```
$ zoo list
hand-written
```

<!-- example: profile-mlp -->
```
$ zoo profile mlp
stale line 1
stale line 2
```

Prose after the block.
"""


def a_record(example_id="profile-mlp", command="zoo profile mlp", stdout="mlp · cpu\n  a  1\n"):
    measured = {"id": example_id, "command": command, "stdout": stdout, "exit_code": 0}
    return record.stamp({**measured, "wall_s": 1.5}, "example")


def page_and_results(tmp_path, records):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    results = tmp_path / "examples.jsonl"
    for r in records:
        examples.save(r, results)
    return page, results


def main(*args, page, results):
    return examples.main([*args, "--page", str(page), "--results", str(results)])


def test_write_replaces_exactly_the_marked_block(tmp_path):
    page, results = page_and_results(tmp_path, [a_record(stdout="mlp · cpu   \n  a  1\n\n")])
    assert main("--write", page=page, results=results) == 0
    expected = PAGE.replace("stale line 1\nstale line 2\n", "mlp · cpu\n  a  1\n")
    assert page.read_text(encoding="utf-8") == expected  # trailing spaces and lines dropped
    assert main("--write", page=page, results=results) == 0
    assert page.read_text(encoding="utf-8") == expected  # rewriting again changes nothing
    assert main("--check", page=page, results=results) == 0


def test_check_names_the_page_and_id_of_a_changed_block(tmp_path, capsys):
    page, results = page_and_results(tmp_path, [a_record()])
    assert main("--check", page=page, results=results) == 1  # still the stale block
    assert main("--write", page=page, results=results) == 0
    assert main("--check", page=page, results=results) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("a  1", "a  2"), encoding="utf-8")
    capsys.readouterr()
    assert main("--check", page=page, results=results) == 1
    err = capsys.readouterr().err
    assert f"{page}: example profile-mlp: the block differs from its record" in err


def test_check_and_write_fail_on_a_marker_without_a_record(tmp_path, capsys):
    page, results = page_and_results(tmp_path, [a_record(example_id="other")])
    assert main("--check", page=page, results=results) == 1
    assert "example profile-mlp: no record" in capsys.readouterr().err
    assert main("--write", page=page, results=results) == 1
    assert page.read_text(encoding="utf-8") == PAGE  # the block without a record is kept


def test_check_fails_on_a_marker_without_a_block(tmp_path, capsys):
    page, results = page_and_results(tmp_path, [a_record()])
    page.write_text("<!-- example: profile-mlp -->\nno fence here\n", encoding="utf-8")
    assert main("--check", page=page, results=results) == 1
    assert "example profile-mlp: no fenced block follows the marker" in capsys.readouterr().err


def test_check_fails_on_a_record_of_another_command_than_the_examples(tmp_path, capsys):
    known = examples.EXAMPLES[0]
    page = tmp_path / "page.md"
    page.write_text(f"<!-- example: {known.id} -->\n```\n```\n", encoding="utf-8")
    results = tmp_path / "examples.jsonl"
    examples.save(a_record(example_id=known.id, command="zoo list"), results)
    assert main("--write", page=page, results=results) == 1
    assert f"recorded for `zoo list`, not `{known.command}`" in capsys.readouterr().err


def test_save_replaces_the_record_of_its_id_and_keeps_the_others(tmp_path):
    results = tmp_path / "examples.jsonl"
    examples.save(a_record("a", stdout="first\n"), results)
    examples.save(a_record("b"), results)
    examples.save(a_record("a", stdout="second\n"), results)
    lines = results.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    assert examples.read(results)["a"]["stdout"] == "second\n"
    assert [p.name for p in tmp_path.iterdir()] == ["examples.jsonl"]  # no temporary left


def fake_cli(calls, stdout="out\n", returncode=0):
    real_run = subprocess.run  # `examples.subprocess` is the one subprocess module

    def fake_run(argv, **kwargs):
        if argv[0] != sys.executable:  # not the zoo: git, as the provenance asks it (once
            return real_run(argv, **kwargs)  # a process, so only the first test to ask)
        calls.append((argv, kwargs))
        if argv[1] == "-c":  # the environment probe
            return subprocess.CompletedProcess(argv, 0, stdout=json.dumps({"cpu": "x"}) + "\n")
        assert Path(kwargs["cwd"]).is_dir()
        assert Path(kwargs["env"]["XDG_CACHE_HOME"]).is_dir()
        return subprocess.CompletedProcess(argv, returncode, stdout=stdout)

    return fake_run


def test_a_record_carries_schema_provenance_and_what_the_command_did(monkeypatch):
    calls = []
    monkeypatch.setattr(examples.subprocess, "run", fake_cli(calls, "table\n", returncode=3))
    r = examples.run(examples.Example("x", "zoo profile mlp --batch-size 8", stderr=True))
    assert r["schema"] == record.SCHEMA_VERSION and r["kind"] == "example"
    assert (r["id"], r["command"], r["stdout"], r["exit_code"]) == (
        "x", "zoo profile mlp --batch-size 8", "table\n", 3
    )  # fmt: skip
    assert r["wall_s"] >= 0 and r["env"] == {"cpu": "x"} and r["stderr"] == "merged"
    p = r["provenance"]
    assert set(p) >= {"argv", "zoo", "git", "versions", "machine"}
    assert "cpu_flags" in p["machine"] and "keras" in p["versions"]
    argv, kwargs = calls[0]
    assert argv == [sys.executable, "-m", "zoo", "profile", "mlp", "--batch-size", "8"]
    assert kwargs["env"]["COLUMNS"] == examples.COLUMNS
    assert kwargs["stderr"] == subprocess.STDOUT
    assert not Path(kwargs["cwd"]).exists()  # the scratch folder is gone


def test_stderr_is_left_out_unless_the_transcript_shows_it(monkeypatch):
    calls = []
    monkeypatch.setattr(examples.subprocess, "run", fake_cli(calls))
    r = examples.run(examples.Example("x", "zoo profile mlp"))
    assert calls[0][1]["stderr"] == subprocess.DEVNULL and r["stderr"] == "left out"


def test_every_example_is_marked_on_a_page_and_the_pages_match_the_committed_file():
    marked = {
        example_id
        for page in examples.pages()
        for example_id, _, _ in examples.blocks(page.read_text(encoding="utf-8").splitlines())
    }
    assert marked == {e.id for e in examples.EXAMPLES}
    assert examples.main(["--check"]) == 0


def test_the_module_imports_no_framework():
    code = (
        "import sys, benchmarks.examples; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'jax', 'torch', 'numpy', 'rich', 'typer')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
