"""Geocoding a written address against the register: exact, fuzzy, accents and case,
house numbers, ambiguity, no match."""

import pytest

from app.addresses import service


def place_of(session, written: str) -> str:
    return service.geocode(session, written).id


@pytest.mark.parametrize(
    "written",
    [
        "12 Rue de la Liberté 21000 Dijon",
        "12 rue de la liberte, Dijon",
        "12 RUE DE LA LIBERTÉ 21000",
        "12, rue de la Liberté",
        "12 rue de la Libertée Dijon",  # a typo
        "  12  rue  de la liberté – DIJON ",
    ],
)
def test_written_forms_of_one_address_find_it(session, register, written):
    found = service.geocode(session, written)
    assert found.id == "21231_0420_00012"
    assert found.label == "12 Rue de la Liberté 21000 Dijon"
    assert (found.lon, found.lat) == (5.0380, 47.3221)


def test_the_house_number_and_its_suffix_choose_the_address(session, register):
    assert place_of(session, "14 rue de la Liberté, Dijon") == "21231_0420_00014"
    assert place_of(session, "12 bis rue de la Liberté, Dijon") == "21231_0420_00012_bis"
    assert place_of(session, "12bis rue de la liberte dijon") == "21231_0420_00012_bis"


def test_the_commune_or_postcode_settles_a_street_found_in_two_communes(session, register):
    with pytest.raises(service.Ambiguous) as ambiguous:
        service.geocode(session, "7 rue Chabot-Charny")
    assert set(ambiguous.value.labels) == {
        "7 Rue Chabot-Charny 21000 Dijon",
        "7 Rue Chabot-Charny 21300 Chenôve",
    }
    assert place_of(session, "7 rue Chabot Charny, Chenove") == "21166_0300_00007"
    assert place_of(session, "7 rue Chabot-Charny 21000") == "21231_0999_00007"


def test_a_street_without_its_number_is_ambiguous(session, register):
    with pytest.raises(service.Ambiguous):
        service.geocode(session, "rue de la Liberté, Dijon")


@pytest.mark.parametrize(
    "written",
    [
        "3 avenue des Champs-Élysées, Paris",
        "13 rue de la Liberté, Dijon",  # no such number
        "place",
        "   ",
    ],
)
def test_no_address_matches(session, register, written):
    with pytest.raises(service.NoMatch):
        service.geocode(session, written)


def test_an_address_by_its_ban_id(session, register):
    assert service.by_id(session, "21231_0150_00003").label == "3 Place Darcy 21000 Dijon"
    with pytest.raises(service.NoMatch):
        service.by_id(session, "21231_0150_00099")
