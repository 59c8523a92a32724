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


def _public_classes() -> list[tuple[str, type]]:
    """Every class named in a module's ``__all__`` and defined there (deprecated aliases and
    ``__main__`` modules aside)."""
    import importlib
    import inspect
    import pkgutil

    found = []
    for info in pkgutil.walk_packages(fade_rl.__path__, "fade_rl."):
        if info.name.endswith("__main__") or info.name.startswith("fade_rl.agents"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                found.append((f"{info.name}.{name}", obj))
    return found


def test_every_public_class_has_a_runnable_example():
    classes = _public_classes()
    assert len(classes) > 100
    missing = [name for name, cls in classes if ">>> " not in (cls.__doc__ or "")]
    assert not missing, f"public classes without an example in their docstring: {missing}"
