"""Which environments a push may have removed an app from."""

from shiplane.engine.git_removals import environments_touched

KNOWN = ["dev", "qa", "prod"]


def test_a_deleted_file_under_an_environment_marks_it():
    changes = [("D", "envs/qa/web/shiplane.pin.yaml"), ("D", "envs/dev/api/deploy.yaml")]
    assert environments_touched(changes, KNOWN) == ["dev", "qa"]  # the project's order


def test_added_or_modified_files_and_other_paths_mark_nothing():
    changes = [
        ("M", "envs/qa/web/shiplane.pin.yaml"),
        ("A", "envs/prod/web/shiplane.pin.yaml"),
        ("D", "envs/README.md"),
        ("D", "apps/web/deployment.yaml"),
        ("D", "envs/staging/web/x.yaml"),  # not an environment of the project
    ]
    assert environments_touched(changes, KNOWN) == []


def test_a_changed_shiplane_yaml_marks_every_environment():
    assert environments_touched([("M", "shiplane.yaml")], KNOWN) == KNOWN
