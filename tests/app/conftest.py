import pytest

from tests.app import world as world_module


@pytest.fixture
def world(session, settings):
    built = world_module.build(session, settings)
    # Inside the test's outer transaction (rolled back at the end): a route that rolls back
    # its own work must not roll back the world with it.
    session.commit()
    return built
