import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/portal/school/", "/admin/portal/user/", "/admin/portal/school/add/"]
)
def test_district_staff_run_the_admin(as_user, staff, school, teacher, path):
    response = as_user(staff).get(path)
    assert response.status_code == 200


def test_admin_user_list_is_searchable_and_filterable(as_user, staff, teacher, other_teacher):
    client = as_user(staff)
    page = client.get("/admin/portal/user/", {"q": "Yamamoto"}).content.decode()
    assert "teacher2" in page and ">teacher<" not in page
    page = client.get("/admin/portal/user/", {"role__exact": "teacher"}).content.decode()
    assert "teacher2" in page and "Import roster" in page


def test_staff_can_edit_a_school(as_user, staff, school):
    client = as_user(staff)
    response = client.post(
        f"/admin/portal/school/{school.pk}/change/",
        {
            "name": "Maple Grove",
            "slug": school.slug,
            "level": "k8",
            "enrollment": 500,
            "frl_percent": 70,
            "locale": "town",
        },
    )
    assert response.status_code == 302
    school.refresh_from_db()
    assert (school.name, school.level) == ("Maple Grove", "k8")


def test_staff_cannot_delete_people(as_user, staff, teacher):
    response = as_user(staff).get(f"/admin/portal/user/{teacher.pk}/delete/")
    assert response.status_code == 403
