"""The top-level package: lazy public names, and envs that load no torch."""

import subprocess
import sys

import fade_rl


def test_public_names_resolve():
    from fade_rl import FADE
    from fade_rl.optim import FADE as OPTIM_FADE

    assert FADE is OPTIM_FADE
    assert set(fade_rl.__all__) == {*fade_rl._EXPORTS, "__version__"}


def test_unknown_name_is_an_attribute_error():
    try:
        fade_rl.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_envs_loads_no_torch():
    code = "import sys, fade_rl.envs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
