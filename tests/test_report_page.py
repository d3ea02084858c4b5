"""`zoo report`: the HTML page of committed results files, opened in headless Chromium
(Debian's `chromium`, which .ci/run installs) through Playwright: no console errors, every
table and chart with as many rows and marks as the results hold, sorting that sorts, and a
screenshot that is not blank."""

import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo.perf import parity, summary
from zoo.perf import target as perf_target

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
FILES = ["quick-cpu", "time-to-target-cpu", "parity-cpu", "export-cpu", "tune-cpu"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As the machine's notes say Chromium must start here: no sandbox as root, and no
# background connections to a network that refuses them.
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _records(stem: str) -> list[dict]:
    return [json.loads(line) for line in (RESULTS / f"{stem}.jsonl").read_text().splitlines()]


def _expected() -> dict[str, dict]:
    """Per file, what the page must show, counted from the records (not from the page)."""
    quick = summary.summarize(_records("quick-cpu"), "graph")
    ttt = _records("time-to-target-cpu")
    par = _records("parity-cpu")
    export = [r for r in _records("export-cpu") if (r.get("timing") or {}).get("artifact")]
    return {
        "quick-cpu.jsonl": {
            "rows": [len(quick)],
            "marks": [sum(r.get("speedup") is not None for r in quick)],
        },
        "time-to-target-cpu.jsonl": {
            "rows": [len(perf_target.summarize(ttt))],
            "marks": [sum(bool((r.get("target") or {}).get("history")) for r in ttt)],
        },
        "parity-cpu.jsonl": {
            "rows": [sum(len(r.get("rows", [])) if r.get("status") == "ok" else 1 for r in par)],
            "marks": [
                sum(
                    row["status"] == "ok" and row["verdict"] != "reference"
                    for r in par
                    if r.get("status") == "ok"
                    for row in parity.summarize(r)
                )
            ],
        },
        "export-cpu.jsonl": {"rows": [len(_records("export-cpu"))], "marks": [len(export)]},
        "tune-cpu.jsonl": {"rows": [len(_records("tune-cpu"))], "marks": []},
    }


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    args = ["report", *(str(RESULTS / f"{f}.jsonl") for f in FILES), "--output", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: 5 file(s)" in result.output
    return out


def test_the_page_is_self_contained(page_file):
    text = page_file.read_text()
    # Nothing to fetch: no external script, stylesheet, image or font.
    for fetch in ('src="http', "src='http", 'href="http', "@import", "url(http"):
        assert fetch not in text
    assert text.count("<section") == len(FILES)
    assert "not recorded" in text  # parity-cpu.jsonl predates provenance: said, not filled in


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_chromium_renders_every_table_and_chart_and_sorts(page_file, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    expected = _expected()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        seen = page.evaluate(
            """() => Array.from(document.querySelectorAll("section")).map(s => ({
                name: s.querySelector("h2").firstChild.textContent.trim(),
                provenance: s.querySelectorAll("dl.provenance dt").length,
                rows: Array.from(s.querySelectorAll("table.zoo"))
                    .map(t => t.tBodies[0].rows.length),
                marks: Array.from(s.querySelectorAll("figure.chart svg")).map(svg =>
                    new Set(Array.from(svg.querySelectorAll('[id^="mark-"]')).map(e => e.id)).size),
            }))"""
        )
        assert errors == []
        assert [s["name"] for s in seen] == [f"{f}.jsonl" for f in FILES]
        for s in seen:
            assert s["provenance"] == 8, s["name"]
            assert s["rows"] == expected[s["name"]]["rows"], s["name"]
            assert s["marks"] == expected[s["name"]]["marks"], s["name"]
        _sorts(page)
        shot = page.screenshot(full_page=True)
        # And the committed page of every results file (docs/report.html, the issue's
        # `zoo report benchmarks/results/*.jsonl`): it renders with no error either.
        page.goto((RESULTS.parents[1] / "docs" / "report.html").as_uri())
        assert page.locator("section").count() == len(list(RESULTS.glob("*.jsonl")))
        assert errors == []
        browser.close()
    image = Image.open(io.BytesIO(shot)).convert("L")
    ink = sum(image.histogram()[:200]) / (image.width * image.height)
    assert image.height > 2000 and ink > 0.01  # a long page with text and charts on it


def _sorts(page) -> None:
    """Clicking the throughput header of the quick suite's table sorts it, both ways."""
    table = page.locator("section").nth(0).locator("table.zoo").first
    header = table.locator("th", has_text="train samples/s")
    column = table.evaluate(
        """t => Array.from(t.tHead.rows[0].cells).findIndex(c =>
            c.textContent.startsWith("train samples/s"))"""
    )

    def values():
        return table.evaluate(
            f"""t => Array.from(t.tBodies[0].rows).map(r =>
                parseFloat(r.cells[{column}].getAttribute("data-value")))"""
        )

    before = values()
    header.click()
    assert values() == sorted(before) and values() != before
    header.click()
    assert values() == sorted(before, reverse=True)


def test_bad_input_is_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["report", str(tmp_path / "none.jsonl")])
    assert r.exit_code == 2 and "No results file" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["report", str(RESULTS / "tune-cpu.jsonl"), "--output", "r.pdf"])
    assert r.exit_code == 2 and "is not an .html file" in r.output
