from sqlalchemy import inspect, text

from app.migrate import check


def test_models_and_migrations_agree(db_url):
    check(db_url)  # raises when autogenerate would find a difference


def test_constraints_are_named_and_one_transcript_per_call(db_engine):
    inspector = inspect(db_engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("transcript")}
    assert "uq_transcript_call_id" in uniques
    job_uniques = [u["column_names"] for u in inspector.get_unique_constraints("job")]
    assert ["call_id", "stage"] in job_uniques


def test_foreign_keys_are_enforced(db_engine):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with db_engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text(
                "INSERT INTO transcript (call_id, engine, model, layout, speakers_labelled, "
                "redactions, created_at) VALUES (987654, 'e', 'm', 'mono', false, 0, "
                "CURRENT_TIMESTAMP)"
            )
        )


def test_embeddings_are_unique_per_transcript_and_model_and_text_calls_need_no_recording(db_engine):
    inspector = inspect(db_engine)
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("transcript_embedding")]
    assert ["transcript_id", "model"] in uniques
    nullable = {c["name"]: c["nullable"] for c in inspector.get_columns("call")}
    assert all(
        nullable[c]
        for c in (
            "audio_path",
            "audio_format",
            "channels",
            "sample_rate",
            "audio_codec",
            "audio_size",
            "audio_sha256",
        )
    )
    assert not nullable["channel"] and not nullable["duration_seconds"]
