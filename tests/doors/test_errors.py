"""One error tree: every exception the core defines descends from SpyAgencyError, and the API maps each
branch to one HTTP status."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import spyagency
from spyagency.errors import InputRefused, NotFound, SpyAgencyError, StoreUnavailable, UnknownRun


def _core_exceptions() -> list[type[BaseException]]:
    found = []
    for module in pkgutil.walk_packages(spyagency.__path__, "spyagency."):
        if ".migrations" in module.name or module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        found += [obj for _name, obj in inspect.getmembers(loaded, inspect.isclass)
                  if issubclass(obj, BaseException) and obj.__module__ == module.name]
    return found


def test_every_core_exception_is_a_spyagency_error():
    exceptions = _core_exceptions()
    assert len(exceptions) >= 15
    strays = [f"{e.__module__}.{e.__qualname__}" for e in exceptions if not issubclass(e, SpyAgencyError)]
    assert strays == []


def test_refused_inputs_are_value_errors_and_unknown_things_are_not_found():
    from spyagency.people.acknowledge import AcknowledgementError
    from spyagency.people.overrides import OverrideError

    assert issubclass(AcknowledgementError, InputRefused) and issubclass(OverrideError, InputRefused)
    assert issubclass(UnknownRun, NotFound) and issubclass(InputRefused, ValueError)
    assert not issubclass(StoreUnavailable, InputRefused)
