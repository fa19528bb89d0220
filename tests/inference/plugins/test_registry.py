"""Registration: declarations are checked, names are unique, and a broken third-party package is
skipped (logged) instead of keeping the gateway from starting."""

import textwrap

import pytest

from inference.plugins.registry import PluginRegistry, plugin_registry
from inference.plugins.sdk import Extractor, Modality, Plugin


class Good(Plugin):
    name, version, modalities = "good", "1.0.0", (Modality.CHAT,)

    async def run(self, inputs, parameters):
        return {"responses": []}


@pytest.mark.parametrize("changes, problem", [
    ({"name": "Bad-Name"}, "name"),
    ({"version": "1.0"}, "version"),
    ({"modalities": ()}, "modalities"),
    ({"reads": frozenset({"audio_url"})}, "reads"),
    ({"timeout_s": 0}, "timeout_s"),
    ({"parameters": ("top_k",)}, "parameters"),
])
def test_declarations_are_checked(changes, problem):
    plugin = type("Changed", (Good,), changes)()
    with pytest.raises(ValueError, match=problem):
        PluginRegistry().plugin(plugin)


def test_run_must_be_implemented_and_names_unique():
    class NoRun(Plugin):
        name, version, modalities = "norun", "1.0.0", (Modality.CHAT,)

    registry = PluginRegistry()
    with pytest.raises(ValueError, match="run"):
        registry.plugin(NoRun())
    registry.plugin(Good())
    with pytest.raises(ValueError, match="registered twice"):
        registry.plugin(Good())
    with pytest.raises(ValueError, match="outputs"):
        registry.extractor(Extractor(name="e", version="1.0.0", outputs={}))


def test_a_broken_entry_point_is_skipped_and_logged(tmp_path, monkeypatch, caplog):
    """A real (if tiny) installed distribution on sys.path whose register() raises."""
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[infergate.plugins]\nbroken = broken_plugin:register\n")
    (tmp_path / "broken_plugin.py").write_text(textwrap.dedent("""
        def register(registry):
            raise RuntimeError("this package is broken")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_registry.cache_clear()
    registry = plugin_registry()
    assert registry.get("keyword_extractor_1_0_0") is not None  # the others are registered
    assert any("broken-plugin" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    plugin_registry.cache_clear()
