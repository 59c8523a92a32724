"""The README's optimizer example runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).parents[1] / "README.md"


def test_readme_optimizer_example_runs():
    first_python_block = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    namespace: dict = {}
    exec(first_python_block, namespace)
    opt, head = namespace["opt"], namespace["head"]
    assert opt.decay_rates(head.weight).shape == head.weight.shape
