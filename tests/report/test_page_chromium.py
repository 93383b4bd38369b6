"""The report page in a real browser: headless Chromium (Debian's ``chromium``) loads it from
a file with no network, finds no console error, every figure rendered with a non-zero size,
and saves a screenshot. Skipped, with the reason, where Chromium is not installed."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(Debian: apt-get install chromium; .ci/run installs it)")

# put first in <head>: keeps every error the page raises (scripts, failed loads, console
# errors) and, once loaded, the size of every figure, in an element that --dump-dom prints
PROBE = """<script>
window.__errors = [];
addEventListener("error", e => __errors.push(String(e.message || (e.target && e.target.src)
  || e.type)), true);
addEventListener("unhandledrejection", e => __errors.push(String(e.reason)));
const __error = console.error;
console.error = (...a) => { __errors.push(a.join(" ")); __error(...a); };
addEventListener("load", () => {
  const figures = [...document.querySelectorAll("figure svg")].map(f => {
    const r = f.getBoundingClientRect(); return [r.width, r.height]; });
  const out = document.createElement("pre");
  out.id = "dasim-probe";
  out.textContent = JSON.stringify({errors: __errors, figures: figures,
    links: [...document.querySelectorAll("a.download")].map(a => a.href.slice(0, 48))});
  document.body.appendChild(out);
});
</script>"""


def chromium(*args):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr",
                           "--v=0", "--virtual-time-budget=5000", *args],
                          capture_output=True, text=True, timeout=180)


def page(tmp_path, *args):
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "report", *args, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("args", [
    ("scenarios/kb2980667-untrusted-root.yaml",),
    ("exercises/kb2980667-root.yaml",),
    ("exercises/tls-inspection.yaml", "--trainer"),
], ids=["scenario", "exercise-student", "exercise-trainer"])
def test_the_page_opens_in_chromium_with_every_figure_drawn(tmp_path, args):
    html = page(tmp_path, *args)
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?:""", text)   # nothing to fetch
    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    dom = chromium("--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="dasim-probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["errors"] == []
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    assert probe["figures"] and all(w > 100 and h > 50 for w, h in probe["figures"])
    assert probe["links"] and all(h.startswith("data:application/vnd.tcpdump.pcap;base64,")
                                  for h in probe["links"])
    shot = tmp_path / "report.png"
    done = chromium("--window-size=1280,2000", f"--screenshot={shot}", html.as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000, done.stderr[-2000:]
