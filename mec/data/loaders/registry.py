"""The loader registry: dataset source name -> reader and file suffixes.

Each loader is a module of this package with one reader,
``read(paths, base_dir=None, **options) -> list[Session]`` (:class:`mec.data.loaders.Session`:
metres and seconds), and the suffixes of the files it reads. :data:`LOADERS` names them; config
``dataset.source`` picks one (the schema's enum lists the same names plus ``synthetic`` and
``hdf5``, which are not recordings: mec.data.plan.dataset_sources; tests/test_registries.py
holds the two equal). Everything that needs a loader asks here: :func:`load_sessions` (rule
make_dataset, through mec.data.loaders.ingest) and :func:`get_loader` (the planning check of a
recordings folder's suffixes, mec.data.plan).

The registry imports the loaders; the loaders import only :mod:`mec.data.loaders.sessions`,
never this module, so the imports run one way. Adding a loader: its module, one
:class:`Loader` line in :data:`LOADERS` and its name in the schema's ``dataset.source`` enum
(docs/extending.md has a worked example). From outside the package, :func:`register_loader`
adds one for the running process (a script, a notebook, a test).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from mec.data.loaders import generic, kavli, nwb
from mec.data.loaders.sessions import Session

__all__ = ["Loader", "LOADERS", "register_loader", "get_loader", "load_sessions"]


@dataclasses.dataclass(frozen=True)
class Loader:
    """One kind of recording file.

    name: the config's ``dataset.source``; read: ``read(paths, base_dir=None, **options)``
    returning a list of :class:`Session` (paths: files, folders or glob patterns; resolve them
    with :func:`mec.data.loaders.resolve_paths` and ``suffixes``); suffixes: lower-case file
    suffixes a folder of such recordings holds (".mat"); options: the
    ``dataset.recordings`` keys passed on to ``read`` when the config sets them.
    """

    name: str
    read: Callable[..., list[Session]]
    suffixes: tuple[str, ...]
    options: tuple[str, ...] = ("position_units", "pixels_per_metre")

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"a loader needs a name, got {self.name!r}")
        if not callable(self.read):
            raise ValueError(f"loader {self.name!r}: read must be callable, got {self.read!r}")
        suffixes = tuple(self.suffixes)
        if not suffixes or any(not (isinstance(s, str) and s.startswith(".") and s == s.lower())
                               for s in suffixes):
            raise ValueError(f"loader {self.name!r}: suffixes must be lower-case '.ext' strings, "
                             f"got {self.suffixes!r}")
        object.__setattr__(self, "suffixes", suffixes)
        object.__setattr__(self, "options", tuple(self.options))


#: The loaders, by ``dataset.source`` name.
LOADERS: dict[str, Loader] = {
    "kavli": Loader("kavli", kavli.load_kavli, kavli.SUFFIXES),
    "nwb": Loader("nwb", nwb.load_nwb, nwb.SUFFIXES,
                  ("position_units", "pixels_per_metre", "position_series")),
    "generic": Loader("generic", generic.load_generic, generic.SUFFIXES),
}
#: Dataset sources that are not recordings (mec.data.make_dataset handles them itself).
RESERVED = ("synthetic", "hdf5")


def register_loader(loader: Loader, replace: bool = False) -> Loader:
    """Add ``loader`` to :data:`LOADERS` for this process; ValueError when its name is taken
    (unless ``replace``) or is one of :data:`RESERVED`. Returns it."""
    if not isinstance(loader, Loader):
        raise ValueError(f"register_loader takes a Loader, got {type(loader).__name__}")
    if loader.name in RESERVED:
        raise ValueError(f"loader name {loader.name!r} is a dataset source of its own "
                         f"({', '.join(RESERVED)}); choose another")
    if loader.name in LOADERS and not replace:
        raise ValueError(f"a loader named {loader.name!r} is registered already "
                         f"(replace=True replaces it)")
    LOADERS[loader.name] = loader
    return loader


def get_loader(source: str) -> Loader:
    """The loader of dataset source ``source``; ValueError naming the registered ones."""
    if source not in LOADERS:
        raise ValueError(f"dataset source {source!r} has no loader; choose one of {tuple(LOADERS)}")
    return LOADERS[source]


def load_sessions(source: str, paths, base_dir=None, **kwargs) -> list[Session]:
    """Load every session of ``paths`` with the loader of ``source`` (:data:`LOADERS`); keyword
    arguments go to that loader (e.g. ``position_units``)."""
    return get_loader(source).read(paths, base_dir=base_dir, **kwargs)
