"""Migrations 1–4: the audit database itself (cases, drafts, audits, flags, decisions, reviewer
boxes, eval runs, the worklist's summary, grounder comparisons, the ``current_decisions`` view)."""

from __future__ import annotations

from data.migrations.step import BOX_COLUMNS, Migration

AUDIT_SCHEMA: tuple[Migration, ...] = (
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
                {BOX_COLUMNS},
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
                {BOX_COLUMNS},
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
                {BOX_COLUMNS},
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
                {BOX_COLUMNS},
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
)
