"""``nox -s reliability``: proof that the release engine converges from any state.

Real ``inv release`` and ``inv rollback`` processes run against the stand-ins, which live in
this process and outlive them: killed with SIGKILL inside every slow or multi-part action and
rerun (:mod:`.kills`), met by transient faults and raced against each other (:mod:`.faults`),
fed bad input (:mod:`.corpus`), and searched for their secrets (:mod:`.leaks`). ``python -m
tests.reliability`` prints a table and ``reliability: N passed, M failed``. Modules here are not
named ``test_*``: pytest does not collect them.
"""
