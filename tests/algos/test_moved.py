"""The old paths of fade_rl.agents and fade_rl.parts import, for one release, with a warning."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from fade_rl._moved import MOVED

OLD = sorted(
    old
    for old in MOVED
    if old.startswith(("fade_rl.parts", "fade_rl.agents.")) and ".baselines" not in old
)

SCRIPT = textwrap.dedent(
    """
    import importlib, sys, warnings

    warnings.simplefilter("error", DeprecationWarning)
    from fade_rl import FadeDQN, attach_fade  # the public names: no warning
    from fade_rl.algos import FadeDQN as NEW

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from fade_rl.agents import FadeDQN as OLD
    assert OLD is NEW is FadeDQN, OLD
    assert [w.category for w in caught] == [DeprecationWarning], caught

    for old, new in {moved}.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert module is sys.modules[new], (old, module)
        assert any(w.category is DeprecationWarning and new in str(w.message) for w in caught), old
    print("ok")
    """
)


def test_old_paths_warn_and_give_the_new_modules() -> None:
    assert "fade_rl.parts" in OLD and "fade_rl.agents.dqn" in OLD
    moved = {old: MOVED[old] for old in OLD}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(moved=moved)], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
