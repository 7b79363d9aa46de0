"""A believable demo district: schools of every kind and people in every role.

Other apps add their own demo content on top (practices, showcases, survey cycles).
Everything is keyed by slug or username so running it again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.lib.bulkload import batched
from portal.models import Role, School, User

SMALL_SCHOOLS = [
    # slug, name, level, enrollment, frl %, locale
    ("maple-grove-elementary", "Maple Grove Elementary", "elementary", 420, 68, "city"),
    ("riverside-middle", "Riverside Middle School", "middle", 780, 54, "city"),
    ("lincoln-high", "Lincoln High School", "high", 1650, 41, "suburb"),
    ("cedar-ridge-elementary", "Cedar Ridge Elementary", "elementary", 260, 18, "suburb"),
    ("harbor-view-k8", "Harbor View K-8 Academy", "k8", 540, 83, "city"),
    ("prairie-wind-elementary", "Prairie Wind Elementary", "elementary", 190, 47, "rural"),
    ("north-valley-high", "North Valley High School", "high", 980, 29, "town"),
    ("eastside-middle", "Eastside Middle School", "middle", 610, 77, "city"),
    ("willow-creek-k12", "Willow Creek K-12 School", "k12", 340, 58, "rural"),
    ("summit-elementary", "Summit Elementary", "elementary", 505, 12, "suburb"),
    ("brookside-middle", "Brookside Middle School", "middle", 450, 36, "town"),
    ("pathways-academy", "Pathways Alternative Academy", "other", 120, 88, "city"),
    # Enough schools of each kind that the survey's segments have groups of five and more.
    ("oak-hollow-elementary", "Oak Hollow Elementary", "elementary", 380, 72, "city"),
    ("lakeshore-elementary", "Lakeshore Elementary", "elementary", 450, 22, "suburb"),
    ("pine-bluff-elementary", "Pine Bluff Elementary", "elementary", 230, 61, "rural"),
    ("meadowbrook-elementary", "Meadowbrook Elementary", "elementary", 520, 35, "suburb"),
    ("hillcrest-elementary", "Hillcrest Elementary", "elementary", 310, 81, "town"),
    ("granite-falls-middle", "Granite Falls Middle School", "middle", 690, 44, "town"),
    ("westwood-middle", "Westwood Middle School", "middle", 820, 15, "suburb"),
    ("jefferson-middle", "Jefferson Middle School", "middle", 560, 79, "city"),
    ("roosevelt-high", "Roosevelt High School", "high", 1420, 66, "city"),
    ("valley-view-high", "Valley View High School", "high", 1100, 24, "suburb"),
    ("river-bend-high", "River Bend High School", "high", 760, 52, "rural"),
    ("sunrise-k8", "Sunrise K-8 School", "k8", 480, 57, "town"),
    ("bayside-k8", "Bayside K-8 Academy", "k8", 610, 31, "suburb"),
    ("frontier-k12", "Frontier K-12 School", "k12", 290, 64, "rural"),
]

FIRST_NAMES = [
    "Aisha",
    "Ben",
    "Carmen",
    "Dmitri",
    "Elena",
    "Farah",
    "Gabriel",
    "Hannah",
    "Isaac",
    "Jada",
    "Kenji",
    "Lucia",
    "Marcus",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samuel",
    "Tamika",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Andre",
    "Bianca",
    "Caleb",
    "Daniela",
    "Emeka",
    "Fiona",
    "Grace",
    "Hector",
    "Ivy",
    "Jamal",
]
LAST_NAMES = [
    "Adeyemi",
    "Brooks",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fernandez",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Johnson",
    "Kowalski",
    "Lee",
    "Martinez",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quintero",
    "Robinson",
    "Singh",
    "Thompson",
    "Underwood",
    "Vasquez",
    "Williams",
    "Xu",
    "Yamamoto",
    "Zimmerman",
    "Alvarez",
    "Bennett",
    "Chen",
    "Diaz",
]

# The named logins printed at the end; the first two teachers work at different schools.
DEMO_LOGINS = [
    # username, first, last, role, school slug
    ("teacher", "Tamika", "Robinson", Role.TEACHER, "maple-grove-elementary"),
    ("teacher2", "Kenji", "Yamamoto", Role.TEACHER, "riverside-middle"),
    ("principal", "Marcus", "Hughes", Role.PRINCIPAL, "maple-grove-elementary"),
    ("principal2", "Elena", "Castillo", Role.PRINCIPAL, "riverside-middle"),
    ("leader", "Priya", "Patel", Role.DISTRICT_LEADER, None),
    ("staff", "Samuel", "Okafor", Role.DISTRICT_STAFF, None),
]

# Demo data only; printed on purpose so people can sign in to the demo.
DEFAULT_PASSWORD = "demo-portal-2026"  # noqa: S105  # nosec B105
EMAIL_DOMAIN = "district.example.org"
LARGE_SCHOOL_COUNT = 150
LARGE_USER_COUNT = 12_000
# The largest US district: its schools and staff.
XL_SCHOOL_COUNT = 1_600
XL_USER_COUNT = 75_000


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    school: str


def _name(
    rng: random.Random,
    taken: set[tuple[str, str]],
    *,
    retries: int = 100,
    initials: dict[tuple[str, str], int] | None = None,
) -> tuple[str, str]:
    """A name no other demo person has (it is taken here): a random pair of the lists, and once
    the pairs run out (district scale), a middle initial.

    `initials` remembers, per pair, how many initials are known to be taken, so tens of
    thousands of names do not each try the initials from A again (names are only ever added,
    so the answer is the same). The largest scale passes `retries=0`: most pairs are taken
    long before its last person, and drawing a hundred times for each would take a minute."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    for _attempt in range(retries):
        if (first, last) not in taken:
            break
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    given, surname = first, last
    initial = initials.get((given, surname), 0) if initials is not None else 0
    while (first, last) in taken:
        first = f"{given} {chr(ord('A') + initial % 26) * (initial // 26 + 1)}."
        initial += 1
    if initials is not None and first != given:
        initials[(given, surname)] = initial
    taken.add((first, last))
    return first, last


def _large_schools(rng: random.Random, count: int) -> list[tuple[str, str, str, int, int, str]]:
    levels = ["elementary"] * 8 + ["middle"] * 3 + ["high"] * 3 + ["k8", "k12", "other"]
    places = ["Oak", "Pine", "Lakeview", "Hillcrest", "Fairview", "Meadow", "Granite", "Sunrise", "Westwood", "Bayside"]
    rows = []
    for index in range(len(SMALL_SCHOOLS), count):
        level = levels[index % len(levels)]
        base = {"elementary": 450, "middle": 750, "high": 1400, "k8": 600, "k12": 500, "other": 200}[level]
        name = f"{places[index % len(places)]} {index} {level.title() if level not in ('k8', 'k12') else level.upper()}"
        rows.append(
            (
                f"school-{index:03d}",
                name,
                level,
                max(60, int(rng.gauss(base, base * 0.3))),
                rng.randint(5, 95),
                rng.choice(["city", "city", "suburb", "suburb", "town", "rural"]),
            )
        )
    return rows


def _counts(scale: str) -> tuple[int, int]:
    """Schools and people of a scale beyond the small demo (0, 0 for the small one)."""
    return {
        "large": (LARGE_SCHOOL_COUNT, LARGE_USER_COUNT),
        "xl": (XL_SCHOOL_COUNT, XL_USER_COUNT),
    }.get(scale, (0, 0))


@transaction.atomic
def seed_people(*, scale: str, password: str, rng: random.Random) -> list[DemoLogin]:
    school_count, user_count = _counts(scale)
    school_rows = list(SMALL_SCHOOLS) + (_large_schools(rng, school_count) if school_count else [])
    existing_schools = set(School.objects.values_list("slug", flat=True))
    School.objects.bulk_create(
        [
            School(slug=slug, name=name, level=level, enrollment=enrollment, frl_percent=frl, locale=locale)
            for slug, name, level, enrollment, frl, locale in school_rows
            if slug not in existing_schools
        ],
        batch_size=2000,
    )
    schools = {school.slug: school for school in School.objects.filter(slug__in=[row[0] for row in school_rows])}
    # One hash for everyone: hashing 12,000 passwords one by one would take minutes.
    password_hash = make_password(password)

    logins = []
    for username, first, last, role, slug in DEMO_LOGINS:
        user, _created = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@{EMAIL_DOMAIN}",
                "role": role,
                "school": schools[slug] if slug else None,
                "is_active": True,
                "password": password_hash,
            },
        )
        logins.append(
            DemoLogin(username, user.get_role_display(), user.school.name if user.school else "district office")
        )

    wanted: list[User] = []
    # No two demo people share a name, so every page and notice names one person.
    taken = {(first, last) for _username, first, last, _role, _slug in DEMO_LOGINS}
    taken |= set(User.objects.values_list("first_name", "last_name"))
    initials: dict[tuple[str, str], int] = {}
    for slug, school in schools.items():
        wanted.append(_person(f"principal.{slug}", Role.PRINCIPAL, school, password_hash, rng, taken, initials))
        teachers = max(3, min(8, school.enrollment // 90)) if scale == "small" else 0
        wanted.extend(
            _person(f"teacher{n}.{slug}", Role.TEACHER, school, password_hash, rng, taken, initials)
            for n in range(1, teachers + 1)
        )
    wanted.extend(
        _person(f"leader{n}", Role.DISTRICT_LEADER, None, password_hash, rng, taken, initials) for n in range(1, 5)
    )
    wanted.append(_person("staff2", Role.DISTRICT_STAFF, None, password_hash, rng, taken, initials))
    existing_users = set(User.objects.values_list("username", flat=True))
    User.objects.bulk_create([user for user in wanted if user.username not in existing_users], batch_size=2000)
    if user_count:
        school_list = list(schools.values())
        target = user_count - len(wanted) - len(DEMO_LOGINS)
        retries = 0 if scale == "xl" else 100
        teachers_wanted = (
            _person(
                f"teacher{n}.{school_list[n % len(school_list)].slug}",
                Role.TEACHER,
                school_list[n % len(school_list)],
                password_hash,
                rng,
                taken,
                initials,
                retries=retries,
            )
            for n in range(1, target + 1)
        )
        # In batches: the largest scale's people are never all in memory at once.
        for batch in batched(teachers_wanted, 2000):
            User.objects.bulk_create([user for user in batch if user.username not in existing_users])
    return logins


def _person(
    username: str,
    role: str,
    school: School | None,
    password_hash: str,
    rng: random.Random,
    taken: set[tuple[str, str]],
    initials: dict[tuple[str, str], int],
    *,
    retries: int = 100,
) -> User:
    first, last = _name(rng, taken, retries=retries, initials=initials)
    return User(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@{EMAIL_DOMAIN}",
        role=role,
        school=school,
        password=password_hash,
        is_staff=role == Role.DISTRICT_STAFF,
    )
