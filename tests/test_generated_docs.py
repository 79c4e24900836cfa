"""Generated files stay in step with the code (regenerate with `make docs`)."""

from worker.docs import FAILURE_SCHEMA, README, SCHEMA, readme_with_table, schema_text
from worker.models import FailureRecord, Record
from worker.settings import Settings


def test_record_schema_file_matches_the_record_model() -> None:
    assert SCHEMA.read_text() == schema_text(Record), "run `make docs`"


def test_failure_schema_file_matches_the_failure_model() -> None:
    assert FAILURE_SCHEMA.read_text() == schema_text(FailureRecord), "run `make docs`"


def test_readme_settings_table_matches_the_settings_class() -> None:
    readme = README.read_text()
    assert readme_with_table(readme) == readme, "run `make docs`"


def test_every_setting_is_documented() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_readme_names_every_setting() -> None:
    readme = README.read_text()
    assert all(f"`INGEST_{name.upper()}`" in readme for name in Settings.model_fields)


def test_the_record_schemas_require_every_key_a_record_file_holds() -> None:
    """Sinks write every field (nulls and empty lists too): a reader generating types from the
    schema must not get optional keys that are always there."""
    import json

    for path, model in ((SCHEMA, Record), (FAILURE_SCHEMA, FailureRecord)):
        schema = json.loads(path.read_text())
        assert set(schema["required"]) == set(model.model_fields), path.name
        for name, definition in schema["$defs"].items():
            assert set(definition.get("required", [])) == set(definition["properties"]), name
