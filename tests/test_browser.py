"""Real-browser check of the trajectory explorer: JupyterLab (headless, localhost) + Debian's Chromium via selenium.

Opens a generated notebook that builds `TrajectoryExplorer` on a synthetic run, runs it through JupyterLab's
"Run All Cells" menu, checks that plotly drew the figures, types another example idx into the explorer's box and
checks the plot changed (title and line paths), clicks a point of the overview and checks the selection followed,
then saves screenshots (to $RMKD_SCREENSHOTS, e.g. docs/screenshots; default a temporary folder).

Starts a server and a browser (about 40 s); needs `chromium`, `chromedriver` and selenium; CI installs them and sets
RMKD_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping
(`apt-get install chromium chromium-driver`, `pip install selenium`). With RMKD_BROWSER_RUN=<run dir> it explores that
run (e.g. a real RL-KD run) instead of a synthetic one, so the screenshots show real data.
"""
import json, os, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("RMKD_SCREENSHOTS") or (Path(os.environ.get("TMPDIR", "/tmp"))/"rmkd-screenshots"))
# docs/screenshots/ is refreshed on purpose only: RMKD_SCREENSHOTS=docs/screenshots pytest tests/test_browser.py
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.action_chains import ActionChains
except ImportError:
    webdriver = None

if os.environ.get("RMKD_REQUIRE_BROWSER") and (CHROMIUM is None or DRIVER is None or webdriver is None):
    raise RuntimeError("RMKD_REQUIRE_BROWSER is set (CI) but Chromium, chromedriver or selenium is missing")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                       reason="needs Chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(webdriver is None, reason="needs selenium (pip install selenium)"),
]



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _notebook(run_dir: Path, first: int) -> dict:
    cells = [
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from rmkd_nb import viz\n"
        f"ex = viz.TrajectoryExplorer({str(run_dir)!r}, idx={first}, max_points=1500)\n"
        "ex",
        f"viz.HeatmapExplorer({str(run_dir)!r}, teacher='argmax', sort_by='difficulty')",
        f"viz.teacher_share(ex.run, split_by_correct=True).update_layout(width=1000)",
    ]
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                        "language": "python"},
                         "language_info": {"name": "python"}},
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": src} for i, src in enumerate(cells)]}


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on a free localhost port, in an isolated config, serving tmp_path; yields (url, token)."
    from rmkd_nb.viz import synthetic_run, load_run
    run_dir = Path(os.environ.get("RMKD_BROWSER_RUN")
                   or synthetic_run(tmp_path/"run", n=600, K=3, epochs=6, batch_size=20, seed=0))
    run = load_run(run_dir); ex = run.index.examples
    first, second = int(ex[0]), int(ex[min(10, len(ex) - 1)])
    (tmp_path/"explorer.ipynb").write_text(json.dumps(_notebook(run_dir, first)))
    cfg = tmp_path/"jupyter-config"; (cfg/"labconfig").mkdir(parents=True)
    (cfg/"labconfig"/"page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(cfg), "JUPYTER_RUNTIME_DIR": str(tmp_path/"runtime"),
                        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path/"lab-settings"),
                        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path/"lab-workspaces"), "PYTHONPATH": str(REPO)}
    log = open(tmp_path/"lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                             "--port-retries=0", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={tmp_path}",
                             "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=",
                             "--ServerApp.open_browser=False"]
                            + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f"jupyter lab exited: {(tmp_path/'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
            except OSError: time.sleep(.5)
        else: pytest.fail(f"jupyter lab did not answer on {url}: {(tmp_path/'lab.log').read_text()[-2000:]}")
        yield dict(url=url, token=token, first=first, second=second, n_examples=len(ex), K=run.num_teachers)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)          # the server and the kernels it started (own session)
            try: proc.wait(20)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1900",
              "--force-device-scale-factor=1", f"--user-data-dir={tmp_path/'chromium-profile'}"):
        opts.add_argument(a)
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    drv.set_page_load_timeout(60)
    try: yield drv
    finally: drv.quit()


def _wait(fn, timeout=90, every=.5, what="condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            v = fn()
            if v: return v
        except Exception: pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _traj_state(drv):
    "Title text and line paths of the trajectory plot (the first plotly plot in the first output)."
    plot = drv.find_elements(By.CSS_SELECTOR, ".jp-Cell .js-plotly-plot")[0]
    title = plot.find_element(By.CSS_SELECTOR, ".gtitle").text
    paths = [p.get_attribute("d") for p in plot.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace path.js-line")]
    return title, paths


def test_trajectory_explorer_in_jupyterlab(lab, browser, tmp_path):
    try: _check_explorer(browser, **lab)
    except BaseException:
        browser.save_screenshot(str(tmp_path/"failure.png"))
        print(f"screenshot of the failure: {tmp_path/'failure.png'}")
        raise


def _check_explorer(drv, url, token, first, second, n_examples, K):
    drv.get(f"{url}/lab/tree/explorer.ipynb?token={token}")
    _wait(lambda: drv.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"), what="the notebook to open")
    _wait(lambda: "Idle" in drv.find_element(By.ID, "jp-main-statusbar").text, timeout=120,
          what="the kernel to start (status bar: Idle)")
    # collapse the file browser so the screenshot shows the notebook
    for tab in drv.find_elements(By.CSS_SELECTOR, ".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current"): tab.click()
    # Run > Run All Cells
    drv.find_element(By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']").click()
    _wait(lambda: drv.find_element(By.CSS_SELECTOR, "li[data-command='runmenu:run-all']"), what="the Run menu").click()

    # the explorer renders: controls plus two plotly plots (trajectory, overview) with line traces
    _wait(lambda: len(drv.find_elements(By.CSS_SELECTOR, ".jp-Cell .js-plotly-plot")) >= 4, timeout=180,
          what="the plotly plots (explorer, overview, heatmap, share) to render")
    title0, paths0 = _wait(lambda: (s := _traj_state(drv)) and len(s[1]) == K and s,
                           what=f"{K} trajectory lines (one per teacher)")
    assert title0.startswith(f"#{first} ") and "gold" in title0, title0
    assert all(p and p.startswith("M") for p in paths0), paths0
    pts = (drv.find_elements(By.CSS_SELECTOR, ".jp-Cell .js-plotly-plot")[1]
           .find_elements(By.CSS_SELECTOR, ".scatterlayer .trace path.point"))
    assert len(pts) >= min(1500, n_examples), len(pts)  # every example up to max_points (+ the ringed selection)

    # move the example selector: type another idx, press Enter
    box = drv.find_element(By.XPATH, "//label[normalize-space()='example idx']/following-sibling::input")
    box.send_keys(Keys.CONTROL, "a"); box.send_keys(str(second), Keys.ENTER)
    title1, paths1 = _wait(lambda: (s := _traj_state(drv)) and s[0].startswith(f"#{second} ") and len(s[1]) == K and s,
                           what=f"the plot to show example #{second}")
    assert paths1 != paths0, "the trajectory lines did not change"

    shot = SHOTS/"trajectory_explorer.png"; SHOTS.mkdir(parents=True, exist_ok=True)
    cell = drv.find_elements(By.CSS_SELECTOR, ".jp-Cell")[0]
    drv.execute_script("arguments[0].scrollIntoView(true);", cell)
    time.sleep(1)
    cell.find_element(By.CSS_SELECTOR, ".jp-OutputArea").screenshot(str(shot))
    assert shot.stat().st_size > 20_000

    # click a point of the overview: the selection follows
    ov = drv.find_elements(By.CSS_SELECTOR, ".jp-Cell .js-plotly-plot")[1]
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", ov)
    points = ov.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace")[0].find_elements(By.CSS_SELECTOR, "path.point")
    target = points[len(points) // 2]
    ActionChains(drv).move_to_element(target).pause(.5).click().perform()
    title2, _ = _wait(lambda: (s := _traj_state(drv)) and not s[0].startswith(f"#{second} ") and s,
                      timeout=30, what="a click on the overview to select another example")
    assert "#" in title2 and "gold" in title2

    for i, name in ((1, "heatmap_explorer.png"), (2, "teacher_share.png")):
        c = drv.find_elements(By.CSS_SELECTOR, ".jp-Cell")[i]
        drv.execute_script("arguments[0].scrollIntoView(true);", c); time.sleep(1)
        c.find_element(By.CSS_SELECTOR, ".jp-OutputArea").screenshot(str(SHOTS/name))
