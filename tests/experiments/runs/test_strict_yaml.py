"""The strict YAML reader: each fault that ``yaml.safe_load`` lets through is refused."""

from __future__ import annotations

import time

import pytest
import yaml

from fade_rl.experiments.runs.strict_yaml import MAX_BYTES, MAX_DEPTH, YamlError, load_yaml


def test_reads_plain_yaml_like_safe_load() -> None:
    text = "a: 1\nb: [1, 2.5, 'x']\nc: {d: true, e: null, f: false}\n"
    assert load_yaml(text, "c.yaml") == yaml.safe_load(text)


def test_duplicate_key_that_safe_load_keeps_in_silence_is_refused() -> None:
    text = "learning_rate: 0.001\ngamma: 0.9\nlearning_rate: 0.5\n"
    assert yaml.safe_load(text)["learning_rate"] == 0.5  # the fault: the last one wins
    with pytest.raises(YamlError, match=r"^c.yaml: line 3: key 'learning_rate' is given twice"):
        load_yaml(text, "c.yaml")


def test_duplicate_key_in_a_nested_mapping_is_refused() -> None:
    with pytest.raises(YamlError, match="line 3: key 'b' is given twice"):
        load_yaml("a:\n  b: 1\n  b: 2\n", "c.yaml")


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF"])
def test_yaml11_booleans_are_refused(word: str) -> None:
    assert isinstance(yaml.safe_load(f"x: {word}")["x"], bool)  # the fault
    with pytest.raises(YamlError, match=f"'{word}' is a YAML 1.1 boolean; write true or false"):
        load_yaml(f"learning_rate: {word}\n", "c.yaml")


def test_quoted_yaml11_words_and_yaml12_booleans_are_read() -> None:
    assert load_yaml("a: 'yes'\nb: true\nc: False\n", "c.yaml") == {
        "a": "yes",
        "b": True,
        "c": False,
    }


def test_exponent_without_a_dot_is_a_float() -> None:
    assert yaml.safe_load("x: 1e-4")["x"] == "1e-4"  # PyYAML's YAML 1.1 reading
    assert load_yaml("x: 1e-4\ny: -2E+3\nz: 1.0e-08\n", "c.yaml") == {
        "x": 1e-4,
        "y": -2e3,
        "z": 1e-8,
    }


def test_alias_bomb_is_refused_at_once() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    start = time.perf_counter()
    with pytest.raises(YamlError, match="line 1: anchors and aliases"):
        load_yaml("\n".join(lines), "bomb.yaml")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{a: " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_one_line_not_a_recursion_error(text: str) -> None:
    with pytest.raises(YamlError, match=f"nested deeper than {MAX_DEPTH} levels") as caught:
        load_yaml(text, "deep.yaml")
    assert "\n" not in str(caught.value)


def test_nesting_up_to_the_bound_is_read() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_yaml(text, "ok.yaml") is not None


def test_oversized_text_is_refused() -> None:
    with pytest.raises(YamlError, match=f"longer than {MAX_BYTES} bytes"):
        load_yaml("a: " + "x" * MAX_BYTES, "big.yaml")


def test_syntax_error_is_one_line_with_the_line_number() -> None:
    with pytest.raises(YamlError, match=r"^c.yaml: line 2 not valid YAML \(") as caught:
        load_yaml("a: [1, 2\n", "c.yaml")
    assert "\n" not in str(caught.value)


def test_the_loader_leaves_pyyaml_alone() -> None:
    load_yaml("x: 1e-4\n", "c.yaml")
    assert yaml.safe_load("x: 1e-4")["x"] == "1e-4"
    assert yaml.safe_load("a: 1\na: 2\n") == {"a": 2}
