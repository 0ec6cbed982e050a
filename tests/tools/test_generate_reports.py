from sqlalchemy import func, select, text

from app.categories.service import validate_answers
from app.reports.models import Report
from tools.generators.reports import generate


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


def test_generated_open_work_is_spread_over_the_desks_states_and_crews(session):
    from app import clock
    from app.organisation.models import Crew, Desk
    from app.reports.models import OPEN_STATUSES
    from tools.generators.organisation import seed_crews, seed_rules

    seed_rules(session)
    seed_crews(session)
    list(generate(session, 10_000, batch=5_000))
    reports = list(session.scalars(select(Report)))
    open_work = [r for r in reports if r.status in OPEN_STATUSES]
    assert 350 < len(open_work) < 650  # ~5%
    assert {r.status for r in open_work} == set(OPEN_STATUSES)
    assert {r.status for r in reports if r not in open_work} == {"closed", "rejected"}
    desks = {d.id: d.code for d in session.scalars(select(Desk))}
    assert all(r.desk_id is not None for r in reports)
    # Each category goes to its routing rule's desk: potholes to roads, lights to lighting.
    by_category = {(r.category.code, desks[r.desk_id]) for r in reports}
    assert ("pothole", "voirie") in by_category
    assert ("streetlight_out", "eclairage") in by_category
    assert len({code for _, code in by_category}) >= 5
    crews = {c.id: c for c in session.scalars(select(Crew))}
    for report in open_work:
        if report.status in ("assigned", "in_progress"):
            assert crews[report.crew_id].desk_id == report.desk_id
        else:
            assert report.crew_id is None
        assert report.due_at is not None and 1 <= report.priority <= 4
    now = clock.now(session)  # the generator dates reports by the database's clock
    overdue = sum(r.due_at < now for r in open_work)
    assert 0.2 * len(open_work) < overdue < 0.9 * len(open_work)  # some overdue, not all
