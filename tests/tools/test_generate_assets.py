"""The demo equipment register (``python -m tools.demo assets generate``)."""

from sqlalchemy import func, select, text

from app.assets.models import Asset
from tools.generators.assets import LAYERS, generate


def test_the_generator_makes_a_realistic_register_inside_the_communes(session):
    progress = list(generate(session, seed=3))
    total = sum(layer.count for layer in LAYERS)
    assert progress[-1] == total
    by_kind = dict(session.execute(select(Asset.kind, func.count()).group_by(Asset.kind)).all())
    assert by_kind == {
        "street_light": 25_000,
        "traffic_signal": 400,
        "camera": 150,
        "drain": 4_000,
        "sign": 3_000,
        "bench": 1_500,
        "poi": 300,
    }
    outside = session.scalar(
        text(
            "SELECT count(*) FROM assets a LEFT JOIN communes c ON c.insee_code = a.commune_insee "
            "WHERE c.insee_code IS NULL OR NOT ST_Covers(c.geom, a.geom)"
        )
    )
    assert outside == 0
    in_dijon = session.scalar(
        select(func.count()).where(Asset.kind == "street_light", Asset.commune_insee == "21231")
    )
    assert 11_250 <= in_dijon < 11_300  # 45% of the poles, plus rounding leftovers
    assert session.scalar(select(Asset.reference).order_by(Asset.reference).limit(1)) == "BN-000001"
    schools = session.scalar(select(func.count()).where(Asset.attributes["poi"].astext == "school"))
    assert schools == 230
    # Same seed, same dataset: a second run adds nothing and moves nothing.
    before = session.scalar(
        text(
            "SELECT md5(string_agg(reference || ST_AsText(geom), ',' "
            "ORDER BY reference)) FROM assets"
        )
    )
    list(generate(session, seed=3))
    after = session.scalar(
        text(
            "SELECT md5(string_agg(reference || ST_AsText(geom), ',' "
            "ORDER BY reference)) FROM assets"
        )
    )
    assert after == before
    assert session.scalar(select(func.count()).select_from(Asset)) == total
