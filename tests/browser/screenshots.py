"""Screenshots of the console's main pages for the README (docs/screenshots/*.png).

Builds a throwaway SQLite demo with a few thousand generated cases and stored resident
messages, starts the app, and photographs each page in headless chromium:

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium.webdriver.common.by import By

from bot.app import create_app
from config.settings import Settings
from models import InboundMessage, utcnow
from models.db import make_engine, make_session_factory
from tests.browser.chromium import chromium, full_page
from tests.conftest import REPO, SHARED_DATA
from tests.servers import serve_in_thread

PASSWORD = "gridbot-demo"


def _seed(url: str) -> None:
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate_cases.py"), "--count", "4000", "--days", "60",
                    "--database-url", url], check=True)
    with (SHARED_DATA / "citizen-messages-unlabelled.csv").open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][:300]
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        session.add_all(InboundMessage(msg_key=f"shot:{i}", from_userid=f"shot-{i}", msg_type="text", content=text,
                                       received_at=utcnow()) for i, text in enumerate(texts))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/shots.db"
        _seed(url)
        settings = Settings(_env_file=None, database_url=url, demo=True, admin_password=PASSWORD,
                            run_background_jobs=False)
        with serve_in_thread(create_app(settings)) as base, chromium() as browser:
            def shoot(path: str, name: str) -> None:
                browser.get(base + path)
                full_page(browser, args.out / f"{name}.png")

            shoot("/admin/login", "login")
            browser.find_element(By.ID, "username").send_keys("admin")
            browser.find_element(By.ID, "password").send_keys(PASSWORD)
            browser.find_element(By.ID, "login").click()
            shoot("/admin/?days=30", "dashboard")
            shoot("/admin/cases?overdue=1", "cases")
            browser.find_element(By.CSS_SELECTOR, "#case-table td a").click()
            browser.find_element(By.ID, "note-text").send_keys("已电话联系物业，明天上午上门查看")
            browser.find_element(By.ID, "add-note").click()
            full_page(browser, args.out / "case.png")
            shoot("/admin/rules?text=樓上裝修電鑽噪音太大，吵得睡唔著", "rules-explain")
            browser.get(base + "/admin/rules/category/物业管理/yaml")
            area = browser.find_element(By.ID, "rules-yaml")
            browser.execute_script("arguments[0].value += arguments[1]", area,
                                   "- id: property-lift\n  keywords: [电梯]\n  weight: 2.0\n")
            browser.find_element(By.ID, "save-rules").click()
            browser.find_element(By.ID, "run-whatif").click()
            full_page(browser, args.out / "rules-whatif.png")
            shoot("/admin/rules/category/环境卫生", "rule-category")
            browser.get(base + "/admin/rules/category/环境卫生/rules/new")
            browser.find_element(By.ID, "rule-terms").send_keys("垃圾桶、垃圾箱、垃圾站")
            weight = browser.find_element(By.ID, "rule-weight")
            weight.clear()
            weight.send_keys("1.5")
            browser.find_element(By.ID, "rule-note").send_keys("垃圾容器")
            browser.find_element(By.ID, "rule-sample").send_keys("楼下垃圾箱满了没人倒")
            browser.find_element(By.ID, "try-rule").click()
            browser.find_element(By.ID, "trial-count")
            full_page(browser, args.out / "rule-editor.png")
            shoot("/admin/registry/workers", "registry")
            shoot("/admin/broadcasts", "broadcasts")
            shoot("/admin/audit", "audit")
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
