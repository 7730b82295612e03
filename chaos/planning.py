"""Which experiment runs a suite makes, checked before anything starts.

:func:`plan_experiments` turns a suite (and with ``every_claim``, the whole contract) into one
run per claim instance, refusing what cannot run (exit 2) before a run dir exists;
:func:`unverified` names each claim no planned run verifies, so a verify never skips one in
silence; :func:`preflight` checks on the booted stack what the claim names.
"""

from __future__ import annotations

from gauntlet.boot import Stack
from gauntlet.chaos.experiments.base import Planned
from gauntlet.checks.verdict import Verdict
from gauntlet.config import ExperimentConfig, Suite
from gauntlet.contract import Contract
from gauntlet.errors import ConfigError, InfrastructureError
from gauntlet.metrics import has_family, scrape

# backends whose stack outlives an experiment: nothing boots a fresh one for the next
OUTLIVING_BACKENDS = ("external", "up")


def plan_experiments(suite: Suite) -> list[Planned]:
    """Every experiment run of a suite, validated before anything starts (exit 2 on error)."""
    from gauntlet.chaos.experiments import get_experiment

    configs = list(suite.experiments)
    if suite.every_claim:
        from gauntlet.chaos.experiments import experiments

        # a listed experiment without a claim covers all its instances; one with a claim,
        # only that one (the others run with default parameters)
        whole = {c.name for c in configs if c.claim is None}
        one = {(c.name, c.claim) for c in configs if c.claim is not None}
        for name, cls in experiments().items():
            if name not in whole:
                configs += [ExperimentConfig(name=name, claim=claim)
                            for claim in cls().targets(suite.the_contract)
                            if (name, claim) not in one]
    planned: list[Planned] = []
    for config in configs:
        experiment = get_experiment(config.name)
        params = experiment.parse_params(config.params)
        targets = experiment.targets(suite.the_contract)
        if config.claim is not None:
            if config.claim not in targets:
                raise ConfigError(
                    f"experiment {config.name!r}: no claim {config.claim!r} of kind "
                    f"{'/'.join(experiment.kinds)} in contract {suite.the_contract.name!r} "
                    f"(claims: {', '.join(sorted(targets)) or 'none'})")
            targets = {config.claim: targets[config.claim]}
        if not targets:
            raise ConfigError(
                f"experiment {config.name!r}: contract {suite.the_contract.name!r} makes no "
                f"{'/'.join(experiment.kinds)} claim to verify")
        planned += [Planned(experiment, name, target, params, config,
                            tuple(experiment.findings(target, suite.the_contract)))
                    for name, target in targets.items()]
    # a service ended early would leave every later experiment a dead stack (sort is stable)
    planned.sort(key=lambda p: p.experiment.ends_service)
    return planned


def ordering_notes(planned: list[Planned], backend: str) -> list[str]:
    """What a person must know before the run starts: which experiments end the service, and
    on a stack that outlives them (``external``, ``up``) whether anything starts it again."""
    enders = [p for p in planned if p.experiment.ends_service]
    if not enders or backend not in OUTLIVING_BACKENDS:
        return []
    notes: list[str] = []
    where = "the up stack" if backend == "up" else f"the {backend} stack"
    for index, item in enumerate(enders):
        last = "runs last" if len(enders) == 1 else "runs after the other experiments"
        if item.experiment.restarts(item.target, backend):
            notes.append(f"{item.label} {last}: it ends the service of {where}, and it is "
                         "started again after it")
            continue
        later = [p.label for p in enders[index + 1:]]
        notes.append(f"{item.label} {last}: it ends the service of {where}, and nothing "
                     "restarts it (give the claim restart = [...]): the service stays down "
                     "after it" + (f", so {', '.join(later)} will find it down" if later else ""))
    return notes


def unverified(contract: Contract, planned: list[Planned]) -> list[Verdict]:
    """An inconclusive verdict for every claim instance no planned run verifies: a claim kind no
    experiment takes, or an integrity claim whose writes no run sends."""
    covered = {(kind, p.claim) for p in planned for kind in p.experiment.kinds}
    sent = {r for p in planned for r in p.experiment.requests(p.target)}
    out: list[Verdict] = []
    for kind, claim in contract.claims.instances():
        if claim.observed():  # the run's judge verifies it over whatever ran
            continue
        stated = claim.unverifiable()
        rides = claim.rides_along(sent)
        if stated is not None:
            why = stated
        elif rides is not None:
            if rides[0]:
                continue
            why = rides[1]
        elif (kind, claim.name) in covered or any(
                kind in p.experiment.kinds and getattr(p.target, "link", None) ==
                getattr(claim, "link", object()) for p in planned):
            continue
        else:
            why = f"no experiment of this run verifies {kind} claims"
        out.append(Verdict.missing(kind, f"verified [{claim.name}]", f"not verified: {why}",
                                   claim=f"{kind}.{claim.name}"))
    return out


def preflight(planned: Planned, stack: Stack, contract: Contract) -> list[str]:
    """Every link, signal handle and metric the claim names, checked on the booted stack
    before the first request: an :class:`InfrastructureError` (exit 3) names what is missing.

    Returns the claimed metrics not exported yet (no family in the scrape): a counter may
    appear only at its first increment, so that is recorded, not refused."""
    experiment, target = planned.experiment, planned.target
    absent: list[str] = []
    experiment.check(target, stack)
    links = experiment.links(target)
    if links:
        if stack.toxiproxy is None:
            raise InfrastructureError(
                f"{planned.label}: needs Toxiproxy in front of link {links[0]!r}, and this "
                "stack has none", hint="external backend: give stack.toxiproxy_url")
        have = set(stack.toxiproxy.proxies())
        for link in links:
            proxy = stack.proxies.get(link, link)
            if proxy not in have:
                raise InfrastructureError(
                    f"{planned.label}: link {link!r} has no Toxiproxy proxy {proxy!r} "
                    f"(proxies: {', '.join(sorted(have)) or 'none'})",
                    hint="external backend: map it with stack.proxies")
    metrics = experiment.metrics(target)
    if metrics:
        path = contract.probes.metrics
        where = f"{path} on {stack.probe_url}" if path else "no metrics path (probes.metrics)"
        scraped = scrape(stack.probe_url, path, timeout_s=5.0)
        text = scraped.text
        if text is None:
            problem = scraped.problem if path else "answered nothing"
            raise InfrastructureError(
                f"{planned.label}: the contract names metric {metrics[0].name!r}, and {where} "
                f"{problem}", hint="fix probes.metrics in the contract, or drop the claim's metric")
        for metric in metrics:
            try:
                found = has_family(text, metric)
            except ValueError as exc:
                raise InfrastructureError(
                    f"{planned.label}: {where} answered something that is not Prometheus "
                    f"text ({exc})", hint="probes.metrics must name a Prometheus endpoint"
                ) from exc
            if not found:
                # not an error: client_golang (and others) export a labelled counter only at
                # its first increment, often without even its # TYPE line; the verdict that
                # reads it says so if it never appears
                absent.append(metric.name)
    return absent
