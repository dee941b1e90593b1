"""Ordered, named schema migrations for the audit database.

Each migration runs once, in its own transaction, and is recorded in
``schema_migrations``. Add new migrations at the end; never edit one that has shipped.

Design notes:
- No FOREIGN KEY constraints: DuckDB refuses to update or upsert a parent row that child
  rows reference, which would forbid re-importing a case. Referential checks live in
  the record families (``data.sql.require_case``) instead.
- Boxes are stored as four normalized floats ``x0, y0, x1, y1`` (``audit.schema.Box``);
  all four are NULL for a finding without a box.
- ``case_summary`` is a denormalized row per case, kept up to date inside the same
  transaction as every audit run and decision, so the worklist never aggregates flags
  (``data.summary`` keeps it; ``data.worklist`` reads it).
- ``current_decisions`` is the one definition of the decision that counts: the latest per
  flag and reviewer. Everything that means "the current decision" reads this view.
- Timestamps are UTC (``TIMESTAMPTZ``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_BOX = "x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema",
        (
            "CREATE SEQUENCE IF NOT EXISTS reference_finding_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS draft_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS flag_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS decision_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS reviewer_finding_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS eval_run_id_seq START 1",
            """
            CREATE TABLE cases (
                case_id VARCHAR PRIMARY KEY,
                image_id VARCHAR NOT NULL,
                image_path VARCHAR,
                width INTEGER,
                height INTEGER,
                source VARCHAR NOT NULL,
                view VARCHAR,
                is_phantom BOOLEAN NOT NULL DEFAULT false,
                metadata JSON,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL
            )
            """,
            f"""
            CREATE TABLE reference_findings (
                finding_id BIGINT PRIMARY KEY DEFAULT nextval('reference_finding_id_seq'),
                case_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                {_BOX},
                source VARCHAR NOT NULL,
                reader VARCHAR,
                source_label VARCHAR,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX reference_findings_case ON reference_findings(case_id)",
            """
            CREATE TABLE drafts (
                draft_id BIGINT PRIMARY KEY DEFAULT nextval('draft_id_seq'),
                case_id VARCHAR NOT NULL,
                text VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                author VARCHAR,
                corruption VARCHAR,
                corruption_label VARCHAR,
                expected_flags JSON,
                metadata JSON,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX drafts_case ON drafts(case_id)",
            """
            CREATE TABLE audit_runs (
                run_id BIGINT PRIMARY KEY DEFAULT nextval('run_id_seq'),
                case_id VARCHAR NOT NULL,
                draft_id BIGINT,
                mode VARCHAR NOT NULL,
                grounder VARCHAR,
                grounder_version VARCHAR,
                parser VARCHAR,
                parser_version VARCHAR,
                image_outcome VARCHAR,
                draft_outcome VARCHAR,
                durations JSON,
                raw_outputs JSON,
                warnings JSON,
                report JSON NOT NULL,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX audit_runs_case ON audit_runs(case_id)",
            f"""
            CREATE TABLE image_findings (
                run_id BIGINT NOT NULL,
                position INTEGER NOT NULL,
                case_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                {_BOX},
                score DOUBLE,
                source VARCHAR,
                box_scale VARCHAR
            )
            """,
            """
            CREATE TABLE draft_labels (
                run_id BIGINT NOT NULL,
                position INTEGER NOT NULL,
                case_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                span VARCHAR NOT NULL,
                span_start INTEGER,
                span_end INTEGER,
                side VARCHAR,
                rule_id VARCHAR,
                backend VARCHAR,
                verified BOOLEAN NOT NULL
            )
            """,
            f"""
            CREATE TABLE flags (
                flag_id BIGINT PRIMARY KEY DEFAULT nextval('flag_id_seq'),
                run_id BIGINT NOT NULL,
                case_id VARCHAR NOT NULL,
                position INTEGER NOT NULL,
                type VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                {_BOX},
                finding_source VARCHAR,
                phrase VARCHAR,
                phrase_start INTEGER,
                phrase_end INTEGER,
                reason VARCHAR NOT NULL
            )
            """,
            "CREATE INDEX flags_run ON flags(run_id)",
            """
            CREATE TABLE decisions (
                decision_id BIGINT PRIMARY KEY DEFAULT nextval('decision_id_seq'),
                flag_id BIGINT NOT NULL,
                run_id BIGINT NOT NULL,
                case_id VARCHAR NOT NULL,
                reviewer VARCHAR NOT NULL,
                decision VARCHAR NOT NULL,
                reason_code VARCHAR,
                note VARCHAR,
                decided_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX decisions_flag ON decisions(flag_id)",
            f"""
            CREATE TABLE reviewer_findings (
                finding_id BIGINT PRIMARY KEY DEFAULT nextval('reviewer_finding_id_seq'),
                case_id VARCHAR NOT NULL,
                run_id BIGINT,
                reviewer VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                {_BOX},
                note VARCHAR,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE case_reviews (
                case_id VARCHAR NOT NULL,
                reviewer VARCHAR NOT NULL,
                run_id BIGINT,
                reviewed_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE case_summary (
                case_id VARCHAR PRIMARY KEY,
                latest_run_id BIGINT,
                audited_at TIMESTAMPTZ,
                n_flags INTEGER NOT NULL DEFAULT 0,
                n_urgent INTEGER NOT NULL DEFAULT 0,
                n_missing INTEGER NOT NULL DEFAULT 0,
                n_laterality INTEGER NOT NULL DEFAULT 0,
                n_unsupported INTEGER NOT NULL DEFAULT 0,
                n_decided INTEGER NOT NULL DEFAULT 0,
                status VARCHAR NOT NULL DEFAULT 'not_audited',
                labels VARCHAR[] NOT NULL DEFAULT [],
                reviewers VARCHAR[] NOT NULL DEFAULT [],
                last_decision_at TIMESTAMPTZ
            )
            """,
            """
            CREATE TABLE eval_runs (
                eval_id BIGINT PRIMARY KEY DEFAULT nextval('eval_run_id_seq'),
                created_at TIMESTAMPTZ NOT NULL,
                grounder VARCHAR NOT NULL,
                parser VARCHAR NOT NULL,
                seed BIGINT,
                n_items INTEGER NOT NULL,
                n_scored INTEGER NOT NULL,
                n_failed INTEGER NOT NULL,
                summary JSON NOT NULL,
                config JSON,
                out_dir VARCHAR,
                note VARCHAR
            )
            """,
        ),
    ),
    Migration(
        2,
        "worklist columns in case_summary",
        (
            # The worklist reads one table: a join with cases cost ~20 ms per query at 100k cases.
            "ALTER TABLE case_summary ADD COLUMN image_id VARCHAR",
            "ALTER TABLE case_summary ADD COLUMN source VARCHAR",
            "ALTER TABLE case_summary ADD COLUMN view VARCHAR",
            "ALTER TABLE case_summary ADD COLUMN is_phantom BOOLEAN",
            "ALTER TABLE case_summary ADD COLUMN search_key VARCHAR",  # lower(case id + image id)
            # A case's reviewers and latest decision: a point lookup instead of a scan (10 → 2.5 ms).
            "CREATE INDEX decisions_case ON decisions(case_id)",
            """
            UPDATE case_summary SET image_id = c.image_id, source = c.source, view = c.view,
                                    is_phantom = c.is_phantom,
                                    search_key = lower(c.case_id || ' ' || c.image_id)
            FROM cases c WHERE c.case_id = case_summary.case_id
            """,
        ),
    ),
    Migration(
        3,
        "grounder comparisons",
        (
            "CREATE SEQUENCE IF NOT EXISTS comparison_id_seq START 1",
            """
            CREATE TABLE grounder_comparisons (
                comparison_id BIGINT PRIMARY KEY DEFAULT nextval('comparison_id_seq'),
                created_at TIMESTAMPTZ NOT NULL,
                runs VARCHAR NOT NULL,
                n_cases INTEGER NOT NULL,
                comparison JSON NOT NULL,
                out_dir VARCHAR,
                note VARCHAR
            )
            """,
        ),
    ),
    Migration(
        4,
        "current_decisions view; label mask and reviewer key in case_summary",
        (
            # The partition names the flag's case and run as well (a flag belongs to one of
            # each, so the result is the same): a filter on any of the four columns then reaches
            # the scan. Partitioned by flag and reviewer alone, `WHERE run_id = ?` read every
            # decision first (120 ms instead of 7 ms at 300k decisions).
            """
            CREATE VIEW current_decisions AS
            SELECT * FROM decisions
            QUALIFY row_number() OVER (
                PARTITION BY case_id, run_id, flag_id, reviewer ORDER BY decision_id DESC
            ) = 1
            """,
            # One bit per label (data.summary.LABEL_BITS; a bit is never reused): the label filter
            # is an integer test. Counting one label's cases among 100k took 2 ms this way,
            # 4 ms with list_contains(labels, ?) and 50 ms as a semi-join with a (case, label)
            # table, which DuckDB hashes whole.
            "ALTER TABLE case_summary ADD COLUMN label_mask INTEGER DEFAULT 0",
            """
            UPDATE case_summary SET label_mask =
                CASE WHEN list_contains(labels, 'pleural_effusion') THEN 1 ELSE 0 END
                + CASE WHEN list_contains(labels, 'pneumothorax') THEN 2 ELSE 0 END
                + CASE WHEN list_contains(labels, 'lung_opacity') THEN 4 ELSE 0 END
                + CASE WHEN list_contains(labels, 'nodule_mass') THEN 8 ELSE 0 END
                + CASE WHEN list_contains(labels, 'cardiomegaly') THEN 16 ELSE 0 END
                + CASE WHEN list_contains(labels, 'no_finding') THEN 32 ELSE 0 END
            """,
            # Reviewers as one string, each name between two \x1f: a decision then updates the
            # row in place, where a LIST column is rewritten as a delete and an insert of the
            # whole row (2-3x the cost of the write and its commit).
            "ALTER TABLE case_summary ADD COLUMN reviewer_key VARCHAR DEFAULT ''",
            """
            UPDATE case_summary SET reviewer_key =
                CASE WHEN len(reviewers) = 0 THEN ''
                     ELSE chr(31) || array_to_string(reviewers, chr(31)) || chr(31) END
            """,
            "ALTER TABLE case_summary DROP COLUMN reviewers",
        ),
    ),
    Migration(
        5,
        "accounts, sign-in attempts, audit trail, assignments, teaching feedback, settings, run purpose",
        (
            "CREATE SEQUENCE IF NOT EXISTS trail_event_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS assignment_id_seq START 1",
            "CREATE SEQUENCE IF NOT EXISTS teaching_feedback_id_seq START 1",
            # Shared mode's accounts; the hash is argon2id (None: an account that signs in
            # through the identity provider only).
            """
            CREATE TABLE accounts (
                name VARCHAR PRIMARY KEY,
                role VARCHAR NOT NULL,
                password_hash VARCHAR,
                disabled BOOLEAN NOT NULL DEFAULT false,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL
            )
            """,
            # Every sign-in attempt, kept so that a restart does not reset a lock-out.
            """
            CREATE TABLE sign_in_attempts (
                name VARCHAR NOT NULL,
                client VARCHAR,
                ok BOOLEAN NOT NULL,
                attempted_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX sign_in_attempts_name ON sign_in_attempts(name)",
            """
            CREATE TABLE audit_trail (
                event_id BIGINT PRIMARY KEY DEFAULT nextval('trail_event_id_seq'),
                recorded_at TIMESTAMPTZ NOT NULL,
                actor VARCHAR,
                role VARCHAR,
                action VARCHAR NOT NULL,
                target VARCHAR,
                detail VARCHAR
            )
            """,
            """
            CREATE TABLE assignments (
                assignment_id BIGINT PRIMARY KEY DEFAULT nextval('assignment_id_seq'),
                name VARCHAR NOT NULL,
                created_by VARCHAR NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                due_at TIMESTAMPTZ,
                everyone BOOLEAN NOT NULL,
                made_from VARCHAR
            )
            """,
            "CREATE TABLE assignment_cases (assignment_id BIGINT NOT NULL, position INTEGER NOT NULL, "
            "case_id VARCHAR NOT NULL)",
            "CREATE TABLE assignment_students (assignment_id BIGINT NOT NULL, student VARCHAR NOT NULL)",
            # An educator's accept/dismiss on a flag of a student's impression, with a note the
            # student reads. Kept apart from ``decisions``: those judge the auditor on the
            # worklist's drafts, and feed the Evaluation page and the export.
            """
            CREATE TABLE teaching_feedback (
                feedback_id BIGINT PRIMARY KEY DEFAULT nextval('teaching_feedback_id_seq'),
                flag_id BIGINT NOT NULL,
                run_id BIGINT NOT NULL,
                draft_id BIGINT NOT NULL,
                case_id VARCHAR NOT NULL,
                educator VARCHAR NOT NULL,
                decision VARCHAR NOT NULL,
                note VARCHAR,
                decided_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE app_settings (
                key VARCHAR PRIMARY KEY,
                value JSON NOT NULL,
                updated_by VARCHAR,
                updated_at TIMESTAMPTZ NOT NULL
            )
            """,
            # 'audit' (the worklist's runs) or 'teaching' (a student's impression against the
            # reference): a case's latest audit is its latest 'audit' run.
            "ALTER TABLE audit_runs ADD COLUMN purpose VARCHAR DEFAULT 'audit'",
            "UPDATE audit_runs SET purpose = 'audit' WHERE purpose IS NULL",
            "CREATE INDEX audit_runs_draft ON audit_runs(draft_id)",
        ),
    ),
    Migration(
        6,
        "report generations and report evaluations",
        (
            "CREATE SEQUENCE IF NOT EXISTS generation_id_seq START 1",
            # Every generation of a report, the failed ones too (raw text kept); a draft of
            # kind 'generated' is made from each that did not fail. A generator's current
            # report for a case is its latest generation there.
            """
            CREATE TABLE generations (
                generation_id BIGINT PRIMARY KEY DEFAULT nextval('generation_id_seq'),
                case_id VARCHAR NOT NULL,
                generator VARCHAR NOT NULL,
                backend VARCHAR NOT NULL,
                model VARCHAR,
                profile VARCHAR,
                outcome VARCHAR NOT NULL,
                raw_text VARCHAR,
                error VARCHAR,
                repairs JSON,
                draft_id BIGINT,
                run JSON,
                seconds DOUBLE,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX generations_case ON generations(case_id)",
            # A generator's current report for a case: its latest generation there (the one
            # definition; everything that means "the current report" reads this view).
            """
            CREATE VIEW current_generations AS
            SELECT * FROM generations
            QUALIFY row_number() OVER (PARTITION BY generator, case_id ORDER BY generation_id DESC) = 1
            """,
            "CREATE SEQUENCE IF NOT EXISTS report_evaluation_id_seq START 1",
            """
            CREATE TABLE report_evaluations (
                evaluation_id BIGINT PRIMARY KEY DEFAULT nextval('report_evaluation_id_seq'),
                created_at TIMESTAMPTZ NOT NULL,
                generators VARCHAR NOT NULL,
                n_cases INTEGER NOT NULL,
                evaluation JSON NOT NULL,
                out_dir VARCHAR,
                note VARCHAR
            )
            """,
        ),
    ),
    Migration(
        7,
        "reviewer box edits",
        (
            # A reviewer's box is never changed in place or removed: each move, resize or
            # deletion is an event, so the export shows what was drawn and what became of it.
            "CREATE SEQUENCE IF NOT EXISTS reviewer_finding_event_id_seq START 1",
            f"""
            CREATE TABLE reviewer_finding_events (
                event_id BIGINT PRIMARY KEY DEFAULT nextval('reviewer_finding_event_id_seq'),
                finding_id BIGINT NOT NULL,
                case_id VARCHAR NOT NULL,
                reviewer VARCHAR NOT NULL,
                action VARCHAR NOT NULL CHECK (action IN ('moved', 'deleted')),
                {_BOX},
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX reviewer_finding_events_case ON reviewer_finding_events(case_id)",
        ),
    ),
)

LATEST_VERSION: int = MIGRATIONS[-1].version
