from tests.archive.conftest import demo_people, make_user

__all__ = ["demo_people", "make_user"]  # the archive's fixtures, shared here
