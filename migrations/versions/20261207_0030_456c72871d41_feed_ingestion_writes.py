"""feed ingestion writes: feed_entities half-filled pages (HOT updates), and the cascade from
an entity to its observations by a statement trigger instead of a foreign key.

A poll rewrites every entity it reads. With full pages each new row version went to another
page and into all three indexes (the GiST one included), and the table grew by a copy of
itself per poll until vacuumed; with half-empty pages the new version stays on its page and
no index changes (a heap-only tuple), as long as the location is the same. Existing pages
are rewritten to the new fill factor as their rows are updated (or by VACUUM FULL).

The foreign key from feed_observations to feed_entities checked every observation inserted,
with a row lock on its entity each: 60% of the cost of adding a poll's observations.
Observations are only ever added by the poll's own statement, for the entities it has just
written (locked, in the same transaction), so the check can never fail; what the key did
besides, deleting an entity's history with it, the trigger does per statement.

Revision ID: 456c72871d41
Revises: b3d5f7a9c1e2
Create Date: 2026-12-07 00:30:00

"""

from alembic import op

revision = "456c72871d41"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE feed_entities SET (fillfactor = 50)")
    op.drop_constraint(
        "fk_feed_observations_entity_pk_feed_entities", "feed_observations", type_="foreignkey"
    )
    op.execute(
        """
        CREATE FUNCTION feed_entities_delete_observations() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM feed_observations o USING gone WHERE o.entity_pk = gone.id;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER feed_entities_delete_observations
        AFTER DELETE ON feed_entities REFERENCING OLD TABLE AS gone
        FOR EACH STATEMENT EXECUTE FUNCTION feed_entities_delete_observations()
        """
    )


def downgrade():
    op.execute("DROP TRIGGER feed_entities_delete_observations ON feed_entities")
    op.execute("DROP FUNCTION feed_entities_delete_observations()")
    # Observations whose entity is gone (none, unless written by hand) would refuse the key.
    op.execute(
        "DELETE FROM feed_observations o WHERE NOT EXISTS"
        " (SELECT FROM feed_entities e WHERE e.id = o.entity_pk)"
    )
    op.create_foreign_key(
        "fk_feed_observations_entity_pk_feed_entities",
        "feed_observations",
        "feed_entities",
        ["entity_pk"],
        ["id"],
        ondelete="CASCADE",
    )
    op.execute("ALTER TABLE feed_entities RESET (fillfactor)")
