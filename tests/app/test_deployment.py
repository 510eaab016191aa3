"""Public mode: what visitors may read, and the limits they get."""
import pytest

from ssl_core.app.deployment import LOCAL, PUBLIC, FolderRefused, allowed_folder, from_env, running_jobs_for


def test_local_is_the_default_and_public_mode_is_switched_on_by_the_environment(tmp_path):
    local = from_env("cpu", {})
    assert not local.public and local.folders_allowed and local.limits.upload_mb == LOCAL.upload_mb
    public = from_env("cpu", {"SSL_PLAYGROUND_PUBLIC": "1"})
    assert public.public and not public.folders_allowed and public.limits.upload_mb == PUBLIC.upload_mb
    assert public.limits.session_grace_s < local.limits.session_grace_s
    rooted = from_env("cpu", {"SSL_PLAYGROUND_PUBLIC": "yes", "SSL_PLAYGROUND_FOLDER_ROOT": str(tmp_path)})
    assert rooted.folders_allowed and rooted.folder_root == tmp_path.resolve()
    assert from_env("cpu", {"SSL_PLAYGROUND_FOLDER_ROOT": str(tmp_path)}).folder_root is None  # only in public mode


def test_one_training_at_a_time_on_a_small_cpu():
    assert running_jobs_for("cpu", cores=2) == 1 and running_jobs_for("cpu", cores=16) == 2
    assert running_jobs_for("cuda", cores=2) == 2


def test_public_mode_reads_only_below_its_root(tmp_path):
    root = tmp_path / "shared"
    (root / "flowers" / "daisy").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    rules = from_env("cpu", {"SSL_PLAYGROUND_PUBLIC": "1", "SSL_PLAYGROUND_FOLDER_ROOT": str(root)})
    assert allowed_folder(rules, "flowers") == root / "flowers"
    assert allowed_folder(rules, "/flowers") == root / "flowers"  # absolute paths are taken from the root
    for outside in ("..", "../secret", "flowers/../../secret", "escape", "/etc/../.."):
        with pytest.raises(FolderRefused, match="only folders inside"):
            allowed_folder(rules, outside)
    with pytest.raises(FolderRefused, match="upload a zip"):
        allowed_folder(from_env("cpu", {"SSL_PLAYGROUND_PUBLIC": "1"}), "flowers")
    assert str(allowed_folder(from_env("cpu", {}), "~/x")).endswith("/x")  # locally, any folder


@pytest.mark.parametrize("path", ["flowers\x00/etc", "a\nb", "x" * 5000])
def test_an_impossible_folder_path_gets_a_message_in_both_modes(path, tmp_path):
    for env in ({}, {"SSL_PLAYGROUND_PUBLIC": "1", "SSL_PLAYGROUND_FOLDER_ROOT": str(tmp_path)}):
        with pytest.raises(FolderRefused, match="not a folder path"):
            allowed_folder(from_env("cpu", env), path)
