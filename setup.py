"""Package discovery walks each source root: a subpackage left out of a wheel is dropped silently."""

from setuptools import find_namespace_packages, setup

ROOTS = {"graphflow": "graphflow", "graphflow.ui": "ui", "graphflow.storage": "storage",
         "graphflow.sample_graphs": "sample_graphs"}


def packages() -> list[str]:
    found = ["graphflow"]
    for name, folder in ROOTS.items():
        if name != "graphflow":
            found.append(name)
        found += [f"{name}.{sub}" for sub in find_namespace_packages(where=folder, exclude=["*__pycache__*"])]
    return found


setup(packages=packages())
