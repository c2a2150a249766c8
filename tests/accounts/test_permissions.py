"""Who may see which accounts page."""
import pytest

from tests.factories import AgencyFactory, CoordinatorFactory, TrainerFactory, UserFactory
from training.accounts.models import Role

SIGNED_IN_PAGES = ["/account", "/account/edit"]
COORDINATOR_PAGES = ["/manage/people", "/manage/people/{person}", "/manage/agencies",
                     "/manage/agencies/new", "/manage/agencies/{agency}/edit"]
COORDINATOR_POSTS = [
    ("/manage/people/{person}/roles", {"roles": ["coordinator"]}),
    ("/manage/people/{person}/status", {"active": "false"}),
    ("/manage/agencies/new", {"name": "Sneaky", "sector": "health"}),
    ("/manage/agencies/{agency}/edit", {"name": "Sneaky", "sector": "health"}),
    ("/manage/agencies/{agency}/status", {"active": "false"}),
]


@pytest.fixture
def ids():
    return {"person": UserFactory().id, "agency": AgencyFactory().id}


@pytest.mark.parametrize("path", SIGNED_IN_PAGES + COORDINATOR_PAGES)
def test_anonymous_people_are_sent_to_sign_in(client, ids, path):
    response = client.get(path.format(**ids))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("path, data", COORDINATOR_POSTS + [("/account/password", {}), ("/account/edit", {})])
def test_anonymous_posts_are_sent_to_sign_in(client, ids, path, data):
    response = client.post(path.format(**ids), data=data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("factory", [UserFactory, TrainerFactory])
@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_professionals_and_trainers_are_forbidden(login_as, ids, factory, path):
    assert login_as(factory()).get(path.format(**ids)).status_code == 403


@pytest.mark.parametrize("factory", [UserFactory, TrainerFactory])
@pytest.mark.parametrize("path, data", COORDINATOR_POSTS)
def test_professionals_and_trainers_cannot_post_coordinator_actions(login_as, ids, factory, path, data):
    user = factory()
    assert login_as(user).post(path.format(**ids), data=data).status_code == 403
    assert not user.has_role(Role.COORDINATOR)


@pytest.mark.parametrize("path", SIGNED_IN_PAGES + COORDINATOR_PAGES)
def test_coordinators_can_see_every_page(login_as, ids, path):
    assert login_as(CoordinatorFactory()).get(path.format(**ids)).status_code == 200
