"""A district's day on the portal: teachers browse, search and post; principals all ask
for seats at the same popular session; leaders load the dashboards.

Run by bench/drill.sh. Every practice the server acknowledged (302 after the post) is
written to ACKED_FILE, so the drill can check that each is in the database afterwards.
"""

import itertools
import os
import random
import re
import uuid

from locust import HttpUser, between, task

PASSWORD = os.environ.get("DRILL_PASSWORD", "demo-portal-2026")
SLOT_ID = os.environ.get("DRILL_SLOT_ID", "")
ACKED_FILE = os.environ.get("DRILL_ACKED_FILE", "load-results/acked.txt")
PRINCIPALS = itertools.cycle(os.environ.get("DRILL_PRINCIPALS", "principal2").split(","))
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WORDS = ["exit", "tickets", "attendance", "reading", "conferences", "labs", "buddy", "walks"]


def _token(html: str) -> str:
    match = TOKEN.search(html)
    return match.group(1) if match else ""


class SignedIn(HttpUser):
    abstract = True
    username = "teacher"

    def on_start(self) -> None:
        page = self.client.get("/accounts/login/", name="login form")
        self.client.post(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": _token(page.text)},
            name="login",
        )


class Teacher(SignedIn):
    weight = 6
    wait_time = between(0.5, 2)

    @task(5)
    def browse(self) -> None:
        self.client.get("/practices/", name="practice list")

    @task(4)
    def search(self) -> None:
        self.client.get(f"/practices/?q={random.choice(WORDS)}", name="practice search")

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(1)
    def post_practice(self) -> None:
        form = self.client.get("/practices/new/", name="practice form")
        title = f"Load drill {uuid.uuid4().hex[:12]}"
        data = {
            "csrfmiddlewaretoken": _token(form.text), "title": title, "summary": "Drill entry.", "description": "Steps.",
            "intent": "Check writes under load.", "visibility": "district", "action": "publish", "tags": "drill",
            "iterations-TOTAL_FORMS": "1", "iterations-INITIAL_FORMS": "0", "iterations-0-tried": "First try", "iterations-0-ORDER": "1",
            "failures-TOTAL_FORMS": "1", "failures-INITIAL_FORMS": "0", "failures-0-tried": "It flopped", "failures-0-ORDER": "1",
        }  # fmt: skip
        with self.client.post(
            "/practices/new/", data, name="practice post", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 302:
                with open(ACKED_FILE, "a") as acked:
                    acked.write(title + "\n")
                response.success()
            else:
                response.failure(f"post answered {response.status_code}")


class Principal(SignedIn):
    weight = 3
    wait_time = between(0.2, 1)

    def on_start(self) -> None:
        self.username = next(PRINCIPALS)
        super().on_start()

    @task
    def request_popular_session(self) -> None:
        if not SLOT_ID:
            return
        page = self.client.get(f"/showcases/{os.environ.get('DRILL_SHOWCASE_ID')}/", name="showcase detail")
        data = {
            "csrfmiddlewaretoken": _token(page.text),
            f"slot{SLOT_ID}-seats": "1",
            f"slot{SLOT_ID}-message": "Drill",
        }
        with self.client.post(
            f"/showcases/sessions/{SLOT_ID}/request/",
            data,
            name="seat request",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # 302: taken, waitlisted or pending; 400: already asked (a clear refusal, not an error).
            if response.status_code in (302, 400):
                response.success()


class Leader(SignedIn):
    weight = 1
    wait_time = between(1, 3)
    username = "leader"

    @task
    def dashboards(self) -> None:
        self.client.get("/dashboard/", name="district dashboard")
        self.client.get("/surveys/current/dashboard/", name="survey dashboard")
