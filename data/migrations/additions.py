"""Migrations 5 onwards: teaching and accounts, report generations, reviewer box edits."""

from __future__ import annotations

from data.migrations.step import BOX_COLUMNS, Migration

ADDITIONS: tuple[Migration, ...] = (
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
                {BOX_COLUMNS},
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX reviewer_finding_events_case ON reviewer_finding_events(case_id)",
        ),
    ),
)
