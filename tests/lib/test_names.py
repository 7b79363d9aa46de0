"""Unique names (usernames, slugs) made from a stem and a number."""

from portal.lib.names import NamePool


class CountingSet(set):
    """A set that counts how often it is asked whether it holds a name."""

    lookups = 0

    def __contains__(self, item):
        self.lookups += 1
        return super().__contains__(item)


def test_a_stem_gets_the_first_free_number_ignoring_case():
    pool = NamePool(["Ada", "ada3"])
    assert [pool.claim("ada") for _ in range(3)] == ["ada2", "ada4", "ada5"]
    assert pool.claim("ALAN") == "ALAN"
    assert pool.claim("alan") == "alan2"


def test_a_separator_goes_between_stem_and_number():
    pool = NamePool(["oak"], separator="-")
    assert [pool.claim("oak"), pool.claim("pine"), pool.claim("oak")] == ["oak-2", "pine", "oak-3"]


def test_thousands_of_names_from_one_stem_cost_about_one_lookup_each():
    """Trying every number from the start for each new name is quadratic: 3,000 people with
    the same stem took 4.5 million lookups, and an export of 20,000 took minutes."""
    pool = NamePool(["user", "user2"])
    pool.taken = CountingSet(pool.taken)
    names = [pool.claim("user") for _ in range(3000)]
    assert len(set(names)) == 3000
    assert "user" not in names and "user2" not in names
    assert pool.taken.lookups <= 2 * 3000 + 10
