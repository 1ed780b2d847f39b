"""The error every planning check raises, in a module that imports nothing of mec.

:class:`ConfigError` is raised by mec.checks, mec.data.plan, mec.sweeps and the fit settings,
and caught by the workflow (``workflow/rules/common.smk``). It lives here, below all of them,
so that none has to import another for it (mec.checks imports mec.data.plan and mec.sweeps;
they import only this). ``mec.checks.ConfigError`` and ``mec.data.plan.ConfigError`` are the
same class, re-exported where users import it.
"""

from __future__ import annotations

__all__ = ["ConfigError", "source_text"]


class ConfigError(ValueError):
    """A config that cannot run as written: the one error of every planning check (mec.checks,
    mec.data.plan, mec.sweeps, the fit settings).

    ``problems`` lists each one as ``"key.path: message"`` (a leading ``"config "`` is
    dropped); ``source`` names the config file(s) when known. One problem reads
    ``config key.path: message``; several read ``config (source) has N problems:`` and one
    line each.
    """

    def __init__(self, problems, source=None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = [p[len("config "):] if p.startswith("config ") else p for p in map(str, problems)]
        self.source = source
        n = len(self.problems)
        if n == 1:
            text = f"config {self.problems[0]}" + (f"\n  (config file: {source})" if source else "")
        else:
            where = f" ({source})" if source else ""
            lines = "\n".join(f"  - {p}" for p in self.problems)
            text = f"config{where} has {n} problems:\n{lines}"
        super().__init__(text)


def source_text(source) -> str | None:
    """The config file(s) a ConfigError names: a path, or several joined by ", "; None for none."""
    if isinstance(source, (list, tuple)):
        source = ", ".join(str(s) for s in source) or None
    return str(source) if source else None


def did_you_mean(word, choices) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``word``, or ``""``: the one wording
    of the hint for config keys, map arguments and registered names."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
