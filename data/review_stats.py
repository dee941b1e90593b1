"""Counts of what reviewers decided, for the Evaluation page: the SQL behind ``workstation.evaluation``.

Every count of decisions is over the *current* decision per (flag, reviewer), read from the
``current_decisions`` view. These functions return counts only; rates, kappa and names are
worked out by the caller, so every rate can show the counts it came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from audit.schema import Frozen
from data.connection import Database

if TYPE_CHECKING:
    import pandas as pd

AcceptanceKey = Literal["flag_type", "label"]

# The current decisions with the flag and the backends that raised it.
_CURRENT = """
    SELECT d.flag_id, d.reviewer, d.decision, d.reason_code, f.type AS flag_type, f.label,
           r.grounder, r.parser
    FROM current_decisions d
    JOIN flags f ON f.flag_id = d.flag_id
    JOIN audit_runs r ON r.run_id = d.run_id
"""


class AgreementCounts(Frozen):
    """Flags decided by two or more reviewers, and how many of them got one decision from all."""

    flags_with_several_reviewers: int
    flags_all_agree: int


def acceptance_counts(db: Database, by: AcceptanceKey) -> pd.DataFrame:
    """Per flag type or label: ``latest_flags`` (flags in each case's latest audit), ``decisions``,
    ``accepted`` and ``dismissed``; keys with flags but no decisions, or the reverse, included."""
    if by not in ("flag_type", "label"):
        raise ValueError(f"acceptance is grouped by flag_type or label, not {by!r}")
    column = "type" if by == "flag_type" else "label"
    frame: pd.DataFrame = db.query_df(
        f"""
        WITH cur AS ({_CURRENT}),
        latest AS (
            SELECT f.{column} AS key, count(*) AS flags FROM flags f
            JOIN case_summary s ON s.latest_run_id = f.run_id GROUP BY 1
        ),
        dec AS (
            SELECT {by} AS key, count(*) AS decisions,
                   count(*) FILTER (WHERE decision = 'accept') AS accepted,
                   count(*) FILTER (WHERE decision = 'dismiss') AS dismissed
            FROM cur GROUP BY 1
        )
        SELECT coalesce(latest.key, dec.key) AS {by}, coalesce(latest.flags, 0) AS latest_flags,
               coalesce(dec.decisions, 0) AS decisions, coalesce(dec.accepted, 0) AS accepted,
               coalesce(dec.dismissed, 0) AS dismissed
        FROM latest FULL OUTER JOIN dec ON latest.key = dec.key
        ORDER BY 1
        """
    )
    return frame


def dismissal_counts(db: Database) -> pd.DataFrame:
    """Current dismissals per ``reason_code`` ("" where none was given), most frequent first."""
    frame: pd.DataFrame = db.query_df(
        f"SELECT coalesce(reason_code, '') AS reason_code, count(*) AS dismissals FROM ({_CURRENT}) "
        "WHERE decision = 'dismiss' GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return frame


def agreement_counts(db: Database) -> AgreementCounts:
    frame = db.query_df(
        f"""
        SELECT count(*) AS flags, count(*) FILTER (WHERE n_decisions = 1) AS agree FROM (
            SELECT flag_id, count(DISTINCT decision) AS n_decisions FROM ({_CURRENT})
            GROUP BY flag_id HAVING count(*) >= 2
        )
        """
    )
    row = frame.iloc[0]
    return AgreementCounts(
        flags_with_several_reviewers=int(row["flags"]), flags_all_agree=int(row["agree"] or 0)
    )


def reviewer_pairs(db: Database) -> pd.DataFrame:
    """Per pair of reviewers (a < b) who decided the same flags: ``shared_flags``, ``agreed``,
    ``both_accept``, ``both_dismiss``, ``a_accepts``, ``b_accepts``."""
    frame: pd.DataFrame = db.query_df(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT a.reviewer AS reviewer_a, b.reviewer AS reviewer_b, count(*) AS shared_flags,
               count(*) FILTER (WHERE a.decision = b.decision) AS agreed,
               count(*) FILTER (WHERE a.decision = 'accept' AND b.decision = 'accept') AS both_accept,
               count(*) FILTER (WHERE a.decision = 'dismiss' AND b.decision = 'dismiss') AS both_dismiss,
               count(*) FILTER (WHERE a.decision = 'accept') AS a_accepts,
               count(*) FILTER (WHERE b.decision = 'accept') AS b_accepts
        FROM cur a JOIN cur b ON a.flag_id = b.flag_id AND a.reviewer < b.reviewer
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    return frame


def backend_counts(db: Database) -> pd.DataFrame:
    """Per (grounder, parser): runs, modes, parse and grounding outcomes, flags, decisions, accepted."""
    frame: pd.DataFrame = db.query_df(
        f"""
        WITH runs AS (
            SELECT coalesce(grounder, '?') AS grounder, coalesce(parser, '?') AS parser, count(*) AS runs,
                   count(*) FILTER (WHERE mode = 'full') AS full_audits,
                   count(*) FILTER (WHERE mode = 'image_only') AS image_only,
                   count(*) FILTER (WHERE mode = 'draft_only') AS draft_only,
                   count(*) FILTER (WHERE draft_outcome = 'failed') AS failed_parses,
                   count(*) FILTER (WHERE draft_outcome = 'recovered') AS recovered_parses,
                   count(*) FILTER (WHERE image_outcome = 'failed') AS failed_groundings,
                   count(*) FILTER (WHERE image_outcome = 'recovered') AS recovered_groundings
            FROM audit_runs WHERE purpose = 'audit' GROUP BY 1, 2
        ),
        fl AS (
            SELECT coalesce(r.grounder, '?') AS grounder, coalesce(r.parser, '?') AS parser, count(*) AS flags
            FROM flags f JOIN audit_runs r ON r.run_id = f.run_id WHERE r.purpose = 'audit' GROUP BY 1, 2
        ),
        dec AS (
            SELECT coalesce(grounder, '?') AS grounder, coalesce(parser, '?') AS parser,
                   count(*) AS decisions, count(*) FILTER (WHERE decision = 'accept') AS accepted
            FROM ({_CURRENT}) GROUP BY 1, 2
        )
        SELECT runs.*, coalesce(fl.flags, 0) AS flags, coalesce(dec.decisions, 0) AS decisions,
               coalesce(dec.accepted, 0) AS accepted
        FROM runs LEFT JOIN fl USING (grounder, parser) LEFT JOIN dec USING (grounder, parser)
        ORDER BY runs DESC, grounder, parser
        """
    )
    return frame


def known_reviewers(db: Database) -> list[str]:
    """Everyone who has decided a flag, drawn a box or written a student draft, sorted."""
    sql = (
        "SELECT DISTINCT reviewer FROM decisions UNION SELECT DISTINCT reviewer FROM reviewer_findings "
        "UNION SELECT DISTINCT author FROM drafts WHERE kind = 'student' AND author IS NOT NULL ORDER BY 1"
    )
    rows = db.read(lambda cur: cur.execute(sql).fetchall())
    return [str(row[0]) for row in rows]
