"""Config: the framework (app-wide keys, unknown keys, null, discovery, the generated page)
and a property test over every key. Each pattern's own rules are tested next to it, in
tests/stacks/<pattern>/test_settings.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_refarch import config as config_module
from ml_refarch.catalog import discover
from ml_refarch.config import (
    PROFILES,
    AppConfig,
    ConfigError,
    all_fields,
    configuration_markdown,
    defaults,
    read_config,
    settings_specs,
)
from ml_refarch.settings import Field, SettingsSpec, integer
from tests.settings_support import (
    ANY_CONTEXT_VALUE,
    assert_rejected_with_key_value_allowed_and_fix,
    problems_of,
)
from tests.support import ROOT


def test_defaults_give_the_sandbox_profile_unpinned():
    config = read_config({})
    # The sandbox profile as defined, plus the expiry time read_config adds to it.
    assert config.profile.expires_at is not None
    assert replace(config.profile, expires_at=None) == PROFILES["sandbox"]
    assert config.account is None and config.region is None


def test_every_pattern_has_its_settings_by_id():
    config = read_config({})
    assert isinstance(config, AppConfig)
    for pattern, spec in settings_specs():
        assert isinstance(config.settings_for(pattern), spec.cls)
        assert config.settings_for(pattern.id) is config.settings_for(pattern)
    assert [p.id for p, _ in settings_specs()] == [p.id for p in discover()]


def test_every_key_is_a_pattern_id_dot_field_or_app_wide():
    app_wide = {"profile", "account", "region", "target", "sandbox_ttl_hours", "sandbox_ttl_from"}
    ids = {pattern.id for pattern in discover()}
    for key in all_fields():
        assert key in app_wide or key.split(".", 1)[0] in ids | {"delivery"}, key


def test_cdk_json_keeps_cdk_settings_and_no_copy_of_the_defaults():
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert not set(context) & set(all_fields()), "defaults live in code, not in cdk.json"
    read_config(context)  # and what it holds is valid


def test_a_settings_spec_must_cover_exactly_its_dataclass():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Two:
        a: int
        b: int

    with pytest.raises(TypeError, match="no field for \\['b'\\]"):
        SettingsSpec(cls=Two, fields={"a": Field(integer(0, 1), 0, "1", "a")})


BAD_VALUES = [
    ("profile", "staging"),
    ("profile", ""),
    ("account", "12345"),
    ("account", "abcdefghijkl"),
    ("region", "Mars-1"),
    ("region", "useast1"),
    ("target", "azure"),
    ("sandbox_ttl_hours", "-1"),
    ("sandbox_ttl_hours", "8761"),
    ("sandbox_ttl_hours", "1.5"),
    ("sandbox_ttl_hours", True),
    ("sandbox_ttl_from", "tomorrow"),
    ("sandbox_ttl_from", "2026-02-30T09:00"),
    ("sandbox_ttl_from", "2026-01-01 09:00"),
    ("sandbox_ttl_from", "2026-01-01T09:00:30"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(key, value)


@pytest.mark.parametrize(("typo", "suggestion"), [("profle", "profile"), ("regoin", "region")])
def test_unknown_keys_suggest_the_closest_setting(typo, suggestion):
    problem = problems_of({typo: "x"})[typo]
    assert f"did you mean {suggestion!r}" in problem.fix


def test_unknown_key_without_a_close_match_says_so():
    problem = problems_of({"zzz": "1"})["zzz"]
    assert "no such setting" in problem.fix


def test_cdk_owned_keys_are_ignored():
    read_config(
        {
            "@aws-cdk/core:newStyleStackSynthesis": True,
            "aws:cdk:enable-path-metadata": True,
            "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        }
    )


@pytest.mark.parametrize("key", ["account", "region"])
def test_null_for_an_optional_key_is_an_error_that_says_to_remove_it(key):
    problem = problems_of({key: None})[key]
    assert problem.received is None
    assert "remove the key to leave it unset" in problem.fix


def test_null_for_any_pattern_key_is_an_error_that_says_to_remove_it():
    key = next(k for k, f in all_fields().items() if f.default is not None and "." in k)
    problem = problems_of({key: None})[key]
    assert "remove the key to leave it at its default" in problem.fix
    assert f"-c {key}=" in problem.fix


def test_every_pattern_check_runs_beside_problems_elsewhere(monkeypatch):
    """Each pattern's own check sees its values whenever they parsed, whatever else is bad."""
    calls = []

    def spy(check):
        return lambda values, prefix: calls.append(prefix) or check(values, prefix)

    specs = tuple((p, replace(spec, check=spy(spec.check))) for p, spec in settings_specs())
    monkeypatch.setattr(config_module, "settings_specs", lambda: specs)
    problems_of({"profile": "staging"})
    assert calls == [pattern.id + "." for pattern, _ in specs]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(sorted(all_fields())), st.text(min_size=1, max_size=20)),
        ANY_CONTEXT_VALUE,
        max_size=6,
    )
)
def test_any_context_either_validates_or_raises_config_error(context):
    try:
        config = read_config(context)
    except ConfigError as error:
        assert error.problems, "a ConfigError always names at least one problem"
        return
    # What validates keeps every bound its pattern's fields state.
    for pattern, spec in settings_specs():
        values = config.settings_for(pattern)
        for name, field in spec.fields.items():
            value = getattr(values, name)
            assert field.parse(value if not isinstance(value, tuple) else list(value)) == value


def test_configuration_doc_lists_every_setting_with_its_default():
    doc = configuration_markdown()
    for key, field in all_fields().items():
        assert f"`{key}`" in doc, key
        if field.profile_defaults:
            cells = [f"`{field.default_for(name)}` in `{name}`" for name in PROFILES]
            assert f"| `{key}` | {', '.join(cells)} |" in doc, key
        elif field.default is not None:
            shown = json.dumps(field.default) if isinstance(field.default, bool) else field.default
            assert f"| `{key}` | `{shown}` |" in doc, key
    for default in defaults().values():
        assert (json.dumps(default) if isinstance(default, bool) else str(default)) in doc
    for pattern in discover():
        assert f"## `{pattern.id}`" in doc


def _profile_dependent_keys() -> list[str]:
    return [key for key, field in all_fields().items() if field.profile_defaults]


def test_endpoint_instances_default_cheaper_in_sandbox_only():
    keys = _profile_dependent_keys()
    assert keys and all(key.endswith("instance_type") for key in keys)
    for profile, expected in (("sandbox", "ml.c5.large"), ("production", "ml.m5.large")):
        values = defaults(profile)
        assert {values[key] for key in keys} == {expected}, profile
    assert {defaults()[key] for key in keys} == {"ml.m5.large"}  # no profile: the base default


@pytest.mark.parametrize("profile", ["sandbox", "production"])
def test_each_profile_reads_its_own_default_and_a_given_value_wins(profile):
    key = _profile_dependent_keys()[0]
    pattern_id, name = key.split(".", 1)
    config = read_config({"profile": profile})
    assert getattr(config.settings_for(pattern_id), name) == all_fields()[key].default_for(profile)
    given = read_config({"profile": profile, key: "ml.r5.large"})
    assert getattr(given.settings_for(pattern_id), name) == "ml.r5.large"


def test_a_default_for_an_unknown_profile_is_refused(monkeypatch):
    (pattern, spec), *_ = settings_specs()
    name, field = next(iter(spec.fields.items()))
    broken = replace(
        spec, fields={**spec.fields, name: replace(field, profile_defaults={"staging": 1})}
    )
    monkeypatch.setattr(config_module, "settings_specs", lambda: ((pattern, broken),))
    all_fields.cache_clear()
    try:
        with pytest.raises(TypeError, match="unknown profile \\['staging'\\]"):
            all_fields()
    finally:
        monkeypatch.undo()
        all_fields.cache_clear()
