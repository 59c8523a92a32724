"""The one YAML reader of fade-rl: strict, bounded, with one-line errors.

Every path that reads YAML (configs, ``-p`` overrides, suite manifests, saved run configs)
goes through :func:`load_yaml`. It refuses what PyYAML's ``safe_load`` lets through:

* a key given twice in one mapping (``safe_load`` keeps the last one in silence);
* the YAML 1.1 booleans ``yes/no/on/off/y/n`` unquoted (``safe_load`` reads
  ``learning_rate: yes`` as ``True``): write ``true``/``false``, or quote the string;
* anchors and aliases (a few lines of aliases expand into gigabytes once copied);
* nesting deeper than :data:`MAX_DEPTH` and text longer than :data:`MAX_BYTES`.

and it reads ``1e-4`` as the number YAML 1.2 says it is (``safe_load``: the string ``'1e-4'``).

Each refusal is a :class:`YamlError` whose message is one line naming the source, the
line and the fix.

Example:
    >>> load_yaml("gamma: 0.99\\nbatch_size: 64\\n", "cfg.yaml")
    {'gamma': 0.99, 'batch_size': 64}
    >>> load_yaml("gamma: 0.9\\ngamma: 0.5\\n", "cfg.yaml")
    Traceback (most recent call last):
    ...
    fade_rl.experiments.runs.strict_yaml.YamlError: cfg.yaml: line 2: key 'gamma' ...
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["MAX_BYTES", "MAX_DEPTH", "YamlError", "YamlSyntaxError", "load_yaml"]

#: The longest YAML text read (a config is a few hundred bytes; a suite manifest a few KiB).
MAX_BYTES = 1 << 20
#: The deepest nesting of mappings and sequences read.
MAX_DEPTH = 32

# YAML 1.1 booleans that YAML 1.2 (and every reader of it) treats as strings.
_YAML11_BOOL = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")


class YamlError(ValueError):
    """YAML that fade-rl refuses to read; the message is one line.

    Example:
        >>> load_yaml("double_q: yes\\n", "cfg.yaml")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.strict_yaml.YamlError: cfg.yaml: line 1: 'yes' is a YAML 1.1 ...
        >>> load_yaml("double_q: true\\n", "cfg.yaml")
        {'double_q': True}
    """


class YamlSyntaxError(YamlError):
    """Text that is not YAML at all (as opposed to YAML that is refused).

    Example:
        >>> load_yaml("net_arch: [64, 64\\n", "cfg.yaml")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.strict_yaml.YamlSyntaxError: cfg.yaml: line 2 not valid YAML ...
        >>> issubclass(YamlSyntaxError, YamlError)
        True
    """


def _line(node_or_event: Any) -> int:
    return int(node_or_event.start_mark.line) + 1


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses anchors, aliases, deep nesting, duplicate keys and YAML 1.1
    booleans, in the one pass that builds the document."""

    source = "<yaml>"
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an anchor or alias, and a collection nested past :data:`MAX_DEPTH`, before
        the node is built (the composer recurses once per level)."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlError(
                f"{self.source}: line {_line(event)}: anchors and aliases (&, *) are not read; "
                "write the value out"
            )
        nests = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if nests and self.depth >= MAX_DEPTH:
            raise YamlError(
                f"{self.source}: line {_line(event)}: nested deeper than {MAX_DEPTH} levels; "
                "flatten it"
            )
        self.depth += nests
        try:
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= nests

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if isinstance(key, (dict, list)):
                raise YamlError(f"{self.source}: line {_line(key_node)}: a key must be a scalar")
            if key in seen:
                raise YamlError(
                    f"{self.source}: line {_line(key_node)}: key {key!r} is given twice; keep one"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        text = str(node.value)
        if _YAML11_BOOL.match(text):
            raise YamlError(
                f"{self.source}: line {_line(node)}: {text!r} is a YAML 1.1 boolean; "
                "write true or false, or quote it to mean the string"
            )
        return bool(super().construct_yaml_bool(node))


_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_yaml_bool)
# YAML 1.2 reads ``1e-4`` as a float; PyYAML's 1.1 resolver wants a dot and reads a string.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_mapping)


def load_yaml(text: str, source: str) -> Any:
    """Parse ``text`` strictly; ``source`` names it in errors (a path, or ``-p key=value``)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlError(f"{source}: longer than {MAX_BYTES} bytes; a config is a few KiB")
    try:
        loader = _StrictLoader(text)
        loader.source = source
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()  # type: ignore[no-untyped-call]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"{source}:{where} not valid YAML ({problem})") from None
