"""The README's architecture map is the one the code gives (tools/architecture.py)."""

from tools import architecture


def test_the_readme_s_architecture_map_is_generated_from_the_packages():
    in_readme = architecture.readme_map(architecture.README.read_text())
    assert in_readme is not None, "README.md lost the architecture map's markers"
    assert in_readme == architecture.render(), (
        "The README's architecture map is out of date: run `python -m tools.architecture "
        "--write` and commit README.md"
    )


def test_every_package_says_in_one_line_what_it_is():
    for package in architecture.packages():
        line = architecture.summary(package / "__init__.py")
        assert "no docstring" not in line, f"{package.name}/__init__.py has no docstring"
        assert line.endswith("."), f"{package.name}: the summary line is cut: {line!r}"
