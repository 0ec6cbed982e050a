from sqlalchemy import func, select, text

from app.categories.service import validate_answers
from app.reports.generate import generate
from app.reports.models import Report


def test_generated_reports_are_inside_their_commune_with_valid_answers(session):
    progress = list(generate(session, 2_500, batch=1_000))
    assert progress == [1_000, 2_000, 2_500]
    assert session.scalar(select(func.count()).select_from(Report)) == 2_500
    outside = session.scalar(
        text(
            "SELECT count(*) FROM reports r JOIN communes c ON c.insee_code = r.commune_insee "
            "WHERE NOT ST_Covers(c.geom, r.geom)"
        )
    )
    assert outside == 0
    dijon = session.scalar(select(func.count()).where(Report.commune_insee == "21231"))
    assert 1_300 < dijon < 1_700  # 60% in Dijon
    assert session.scalar(select(func.count(func.distinct(Report.reference)))) == 2_500
    for report in session.scalars(select(Report).limit(200)):
        assert validate_answers(report.category, report.answers) == report.answers
