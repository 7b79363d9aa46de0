"""A district's day on the portal: teachers browse, search and post; principals all ask
for seats at the same popular session; leaders load the dashboards.

Run by bench/drill.sh. Every practice the server acknowledged (302 to the practice after the
post) is written to ACKED_FILE, so the drill can check that each is in the database afterwards.
Each simulated person signs in once and keeps that session to the end: a page that sends them
to the sign-in page instead counts as a failure ("signed out") and is written to
SESSIONS_FILE, with each sign-in, so the drill can tell whether sessions outlived a killed
app server.

With DRILL_UPLOADS=1 each post carries a small photo, which the teacher then downloads
from the practice's page (the upload path through STORAGES, both ways). With DRILL_CHURN=1
principals also cancel their request now and then and ask again, so seats move to the waiting
list and back all through the run (and e-mails about it keep the job queue busy).
"""

import io
import itertools
import json
import os
import random
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.clients import ResponseContextManager
from locust.env import Environment
from locust.stats import StatsError
from PIL import Image

PASSWORD = os.environ.get("DRILL_PASSWORD", "demo-portal-2026")
SHOWCASE_ID = os.environ.get("DRILL_SHOWCASE_ID", "")
SLOT_ID = os.environ.get("DRILL_SLOT_ID", "")
ACKED_FILE = os.environ.get("DRILL_ACKED_FILE", "load-results/acked.txt")
SESSIONS_FILE = os.environ.get("DRILL_SESSIONS_FILE", "load-results/sessions.txt")
# The final figures, as Locust prints them at the end (its CSV files lag by up to a second).
FINAL_FILE = os.environ.get("DRILL_FINAL_FILE", "load-results/locust_final.json")
UPLOADS = os.environ.get("DRILL_UPLOADS") == "1"
CHURN = os.environ.get("DRILL_CHURN") == "1"
# With DRILL_CHURN, the share of a principal's visits that cancel the request they hold.
CANCEL_SHARE = 0.3
PRINCIPALS = itertools.cycle(os.environ.get("DRILL_PRINCIPALS", "principal2").split(","))
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ATTACHMENT_LINK = re.compile(r'href="(/practices/\d+/attachments/\d+/)"')
MY_REQUEST_CANCEL = re.compile(r'href="(/showcases/requests/\d+/cancel/)"')
SIGN_IN_PATH = "/accounts/login/"
# Sign-ins tried before a simulated person gives up (each failed one counts as an error).
SIGN_IN_ATTEMPTS = 5
WORDS = ["exit", "tickets", "attendance", "reading", "conferences", "labs", "buddy", "walks"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _token(html: str) -> str:
    match = TOKEN.search(html)
    return match.group(1) if match else ""


def _photo() -> bytes:
    """A small PNG of one random colour."""
    buffer = io.BytesIO()
    colour = (random.randrange(256), random.randrange(256), random.randrange(256))
    Image.new("RGB", (24, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _record(path: str, line: str) -> None:
    with open(path, "a") as record:
        record.write(line + "\n")


def _to_sign_in(location: str) -> bool:
    return urlsplit(location).path == SIGN_IN_PATH


_RUN: dict[str, Environment] = {}


@events.init.add_listener
def _keep_environment(environment: Environment, **_kwargs: Any) -> None:
    _RUN["environment"] = environment


@events.quit.add_listener
def _write_final_figures(**_kwargs: Any) -> None:
    """Once every simulated person has stopped: the totals, per request and overall."""
    stats = _RUN["environment"].stats

    def figures(entry: Any) -> dict[str, Any]:
        return {
            "requests": entry.num_requests,
            "errors": entry.num_failures,
            "requests_per_s": round(entry.total_rps, 1),
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
        }

    final = {
        **figures(stats.total),
        "by_request": {f"{entry.method} {entry.name}": figures(entry) for entry in stats.entries.values()},
        "errors_by_kind": [
            {
                "request": f"{error.method} {error.name}",
                "error": StatsError.parse_error(error.error),
                "count": error.occurrences,
            }
            for error in stats.errors.values()
        ],
    }
    with open(FINAL_FILE, "w") as out:
        json.dump(final, out, indent=2)


class SignedIn(HttpUser):
    abstract = True
    username = "teacher"

    def on_start(self) -> None:
        self.key = uuid.uuid4().hex[:8]
        self.signed_in = False
        self.signed_out = 0
        for _attempt in range(SIGN_IN_ATTEMPTS):
            if self.sign_in():
                _record(SESSIONS_FILE, f"login {time.time():.3f} {self.key} {self.username}")
                self.signed_in = True
                return
        _record(SESSIONS_FILE, f"login_failed {time.time():.3f} {self.key} {self.username}")

    def sign_in(self) -> bool:
        """One sign-in; after a refusal that names a wait (429, Retry-After), wait that long."""
        page = self.client.get(SIGN_IN_PATH, name="login form")
        with self.client.post(
            SIGN_IN_PATH,
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": _token(page.text)},
            name="login",
            catch_response=True,
        ) as response:
            if response.ok and _to_sign_in(response.url):
                response.failure("sign-in refused")
                return False
            if not response.ok:
                time.sleep(min(int(response.headers.get("Retry-After", "1") or 1), 10))
            return bool(response.ok)

    def on_stop(self) -> None:
        _record(SESSIONS_FILE, f"stop {time.time():.3f} {self.key} {self.username} {self.signed_out}")

    def _lost_session(self, response: ResponseContextManager, url: str) -> None:
        if not self.signed_in:
            response.failure("never signed in")
            return
        self.signed_out += 1
        _record(SESSIONS_FILE, f"signed_out {time.time():.3f} {self.key} {self.username} {url}")
        response.failure("signed out: sent to the sign-in page")

    def page(self, url: str, name: str) -> ResponseContextManager:
        """GET a page that needs the session: landing on the sign-in page is a failure."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.ok and _to_sign_in(response.url):
                self._lost_session(response, url)
        return response

    def post(
        self, url: str, data: dict[str, str], name: str, ok: tuple[int, ...] = (302,), **extra: Any
    ) -> ResponseContextManager:
        """POST a form without following its redirect: one of `ok` is a success, unless it sends
        the person to the sign-in page. Returns the response."""
        with self.client.post(url, data, name=name, allow_redirects=False, catch_response=True, **extra) as response:
            if response.status_code == 302 and _to_sign_in(response.headers.get("Location", "")):
                self._lost_session(response, url)
            elif response.status_code in ok:
                response.success()
            else:
                response.failure(f"post answered {response.status_code}")
        return response


class Teacher(SignedIn):
    weight = 6
    wait_time = between(0.5, 2)

    @task(5)
    def browse(self) -> None:
        self.page("/practices/", "practice list")

    @task(4)
    def search(self) -> None:
        self.page(f"/practices/?q={random.choice(WORDS)}", "practice search")

    @task(2)
    def home(self) -> None:
        self.page("/", "home")

    @task(1)
    def post_practice(self) -> None:
        form = self.page("/practices/new/", "practice form")
        title = f"Load drill {uuid.uuid4().hex[:12]}"
        data = {
            "csrfmiddlewaretoken": _token(form.text), "title": title, "summary": "Drill entry.", "description": "Steps.",
            "intent": "Check writes under load.", "visibility": "district", "action": "publish", "tags": "drill",
            "iterations-TOTAL_FORMS": "1", "iterations-INITIAL_FORMS": "0", "iterations-0-tried": "First try", "iterations-0-ORDER": "1",
            "failures-TOTAL_FORMS": "1", "failures-INITIAL_FORMS": "0", "failures-0-tried": "It flopped", "failures-0-ORDER": "1",
        }  # fmt: skip
        files = {"attachments": ("drill photo.png", _photo(), "image/png")} if UPLOADS else None
        response = self.post("/practices/new/", data, "practice post", files=files)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or _to_sign_in(location):
            return
        _record(ACKED_FILE, title)
        if UPLOADS:
            self.download_attachment(location)

    def download_attachment(self, practice_url: str) -> None:
        """Open the practice just posted and download its photo, streamed from storage."""
        practice = self.page(practice_url, "practice detail")
        link = ATTACHMENT_LINK.search(practice.text)
        if not practice.ok or link is None:
            return
        with self.client.get(link.group(1), name="attachment download", catch_response=True) as download:
            if download.ok and not download.content.startswith(PNG_SIGNATURE):
                download.failure("the download is not the photo posted")


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
        page = self.page(f"/showcases/{SHOWCASE_ID}/", "showcase detail")
        mine = MY_REQUEST_CANCEL.search(page.text) if CHURN else None
        if mine is not None and random.random() < CANCEL_SHARE:
            # The seat, if any, goes to the next person waiting; 302 either way.
            self.post(
                mine.group(1),
                {"csrfmiddlewaretoken": _token(page.text), "confirm": "yes", "reason": "Drill"},
                "seat cancel",
            )
            return
        data = {
            "csrfmiddlewaretoken": _token(page.text),
            f"slot{SLOT_ID}-seats": "1",
            f"slot{SLOT_ID}-message": "Drill",
        }
        # 302: taken, waitlisted or pending; 400: already asked (a clear refusal, not an error).
        self.post(f"/showcases/sessions/{SLOT_ID}/request/", data, "seat request", ok=(302, 400))


class Leader(SignedIn):
    weight = 1
    wait_time = between(1, 3)
    username = "leader"

    @task
    def dashboards(self) -> None:
        self.page("/dashboard/", "district dashboard")
        self.page("/surveys/current/dashboard/", "survey dashboard")
