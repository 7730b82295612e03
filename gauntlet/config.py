"""The suite file: a TOML document validated by a typed schema.

A suite names the contract of the stack under test (what it claims and how to reach it, see
:mod:`gauntlet.contract`), the backend that boots it (and any variants of it to switch on), the
load to drive (a locustfile with a closed or open model), the SLO gates, and the chaos
experiments. Every problem is reported as one line that names the key, and raises
:class:`~gauntlet.errors.ConfigError` (exit 2) before anything is started.

    suite = load_suite(Path("suites/default.toml"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gauntlet.contract import Contract, MaxShare, MinFloor, load_contract, one_line, read_toml
from gauntlet.errors import ConfigError

# the checkout gauntlet runs from (the repo's docker/ and stack/ live here); in an installed
# gauntlet it is just the parent of the package and nothing is looked for there
REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# where run dirs go when neither the suite (output_dir) nor the command line (--output) says
DEFAULT_OUTPUT_DIR = Path("reports/runs")
# modules of the scenarios package that are the harness' machinery, not locustfiles
LIBRARY_MODULES = frozenset(
    {"auth", "capture", "columns", "hdrcell", "openmodel", "remote", "runner", "schedule",
     "shapes", "ship", "realtime_spec", "traffic", "fields"}
)

ErrorClass = Literal["5xx", "4xx", "429", "connect", "timeout", "reset"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StackConfig(_Strict):
    backend: Literal["local", "compose", "external", "up"] = "local"
    # variants the contract declares, switched on in the main service (e.g. a mechanism off)
    variants: list[str] = Field(default_factory=list)
    boot_timeout_s: float = Field(60.0, gt=0)
    # local backend: fixed ports by name instead of free ones — a service (the main service's
    # is its proxy, where load goes), a link (its proxy: what the services are given), or
    # "toxiproxy" (its API); `gauntlet up --port NAME=PORT`
    ports: dict[str, Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=dict)
    # external backend
    base_url: str | None = None
    toxiproxy_url: str | None = None
    proxies: dict[str, str] = Field(default_factory=dict)  # contract link → Toxiproxy proxy
    database_url: str | None = None
    allow_remote: bool = False
    # backend "up": the handle a `gauntlet up` wrote (from the suite file's folder; default
    # .gauntlet/up.json in the working directory, where `gauntlet up` writes it)
    handle: str | None = None

    @model_validator(mode="after")
    def _external_needs_url(self) -> StackConfig:
        if self.backend == "external" and not self.base_url:
            raise ValueError("backend 'external' needs stack.base_url")
        if self.backend != "external" and self.base_url:
            raise ValueError(f"stack.base_url is only for backend 'external', not {self.backend!r}")
        if self.ports and self.backend != "local":
            raise ValueError(f"stack.ports is for backend 'local' (gauntlet up), not "
                             f"{self.backend!r}")
        if self.handle is not None and self.backend != "up":
            raise ValueError(f"stack.handle is for backend 'up', not {self.backend!r}")
        return self


class Stage(_Strict):
    """One step of a closed-model shape: reach ``users`` at ``spawn_rate``, hold to the end."""

    duration_s: float = Field(gt=0)
    users: int = Field(ge=0)
    spawn_rate: float | None = Field(None, gt=0)


class RateStage(_Strict):
    """One step of an open-model shape: ramp linearly to ``rate`` requests/s over the step."""

    duration_s: float = Field(gt=0)
    rate: float = Field(ge=0)


class LoadConfig(_Strict):
    scenario: str  # a locustfile path (from the suite file), or a harness locustfile's name
    model: Literal["closed", "open"] = "closed"
    users: int | None = Field(None, ge=1)
    spawn_rate: float | None = Field(None, gt=0)
    duration_s: float | None = Field(None, gt=0)
    stages: list[Stage] | None = None
    rate: float | None = Field(None, gt=0)
    rate_stages: list[RateStage] | None = None
    max_concurrency: int = Field(200, ge=1)
    workers: int = Field(1, ge=1, le=64)
    warmup_s: float = Field(0.0, ge=0)
    # rows: one sample per request (samples.parquet); hdr: per-second HdrHistograms
    # (latency-hdr.jsonl) for long runs, see docs/load-engine.md
    samples: Literal["rows", "hdr"] = "rows"
    # remote Locust workers (`gauntlet worker --master HOST:PORT` on other machines): the run's
    # Locust becomes a master that waits up to remote_wait_s for this many of them, listening
    # on loopback unless the suite names another address (docs/load-engine.md: the risk)
    remote_workers: int = Field(0, ge=0, le=1000)
    master_bind_host: str = Field("127.0.0.1", min_length=1, max_length=253,
                                  pattern=r"^(\*|[A-Za-z0-9_.:-]+)$")
    master_bind_port: int = Field(5557, ge=1, le=65535)
    remote_wait_s: float = Field(60.0, ge=1, le=3600)
    # a production shape (stages of minutes) run shorter: every duration times this, every ramp
    # rate divided by it, every other number (users, rates, gates) as stated; the report says so
    duration_scale: float = Field(1.0, gt=0, le=1)
    # scenario "declared" (the contract's own requests): seconds between one client's requests,
    # at least; each client also keeps under half of every rate limit that covers it (a limit
    # on part of the mix spaces that part alone: scenarios/traffic.py spaced)
    pace_s: float = Field(1.0, gt=0)

    def scaled(self, scale: float) -> LoadConfig:
        """This shape with its durations at ``scale`` of the declared ones (``parse_suite``
        applies a suite's own ``duration_scale``; ``gauntlet run --scale`` replaces it).

        Ramps keep their user counts, so a ramp that took two minutes to reach 100 users
        reaches them in ``scale`` of the time: spawn rates grow by ``1 / scale``.
        """
        if not 0 < scale <= 1:
            raise ConfigError(f"load.duration_scale must be in (0, 1], not {scale:g}")
        factor = scale / self.duration_scale  # durations already carry the current scale
        if factor == 1:
            return self

        def t(value: float | None) -> float | None:
            return None if value is None else value * factor

        def r(value: float | None) -> float | None:
            return None if value is None else value / factor

        return self.model_copy(update={
            "duration_scale": scale,
            "duration_s": t(self.duration_s),
            "spawn_rate": r(self.spawn_rate),
            "warmup_s": self.warmup_s * factor,
            "stages": None if self.stages is None else [
                s.model_copy(update={"duration_s": s.duration_s * factor,
                                     "spawn_rate": r(s.spawn_rate)}) for s in self.stages],
            "rate_stages": None if self.rate_stages is None else [
                s.model_copy(update={"duration_s": s.duration_s * factor})
                for s in self.rate_stages],
        })

    @property
    def declared_duration_s(self) -> float:
        """The shape's length as the suite states it, before ``duration_scale``."""
        return self.total_duration_s / self.duration_scale

    @model_validator(mode="after")
    def _shape(self) -> LoadConfig:
        if self.model == "closed":
            if self.rate is not None or self.rate_stages:
                raise ValueError("load.rate/rate_stages need load.model = 'open'")
            if self.stages:
                if self.users or self.duration_s:
                    raise ValueError("give either load.stages or load.users + load.duration_s")
            elif not (self.users and self.duration_s):
                raise ValueError("closed model needs load.users and load.duration_s (or stages)")
        else:
            if self.users or self.stages:
                raise ValueError("load.users/stages are for model 'closed'; open uses load.rate")
            if self.rate_stages:
                if self.rate or self.duration_s:
                    raise ValueError("give either load.rate_stages or load.rate + load.duration_s")
            elif not (self.rate and self.duration_s):
                raise ValueError("open model needs load.rate and load.duration_s (or rate_stages)")
        return self

    @model_validator(mode="after")
    def _remote(self) -> LoadConfig:
        """Remote-worker keys only with remote workers: a bind address given for a run that
        opens no port is a suite that means something else."""
        if not self.remote_workers:
            given = sorted({"master_bind_host", "master_bind_port", "remote_wait_s"}
                           & self.model_fields_set)
            if given:
                raise ValueError(f"load.{given[0]} needs load.remote_workers >= 1")
        elif self.workers > 1:
            raise ValueError(
                f"load.workers = {self.workers} (local --processes) and load.remote_workers = "
                f"{self.remote_workers} cannot be combined: start more `gauntlet worker`s")
        return self

    @property
    def total_duration_s(self) -> float:
        if self.stages:
            return sum(stage.duration_s for stage in self.stages)
        if self.rate_stages:
            return sum(stage.duration_s for stage in self.rate_stages)
        assert self.duration_s is not None
        return self.duration_s

    def scenario_path(self, base_dir: Path | None = None) -> Path:
        return resolve_scenario(self.scenario, base_dir)


class Thresholds(_Strict):
    """Gates on one population of requests; unset means not gated. A bound no run could
    violate (``error_rate = 1``, ``min_rps = 0``) is refused: leave the key out instead."""

    p50_ms: float | None = Field(None, gt=0)
    p90_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    p999_ms: float | None = Field(None, gt=0)
    max_ms: float | None = Field(None, gt=0)
    error_rate: MaxShare | None = None
    rate_429: MaxShare | None = None
    min_rps: MinFloor | None = None


class SloConfig(Thresholds):
    errors: list[ErrorClass] = Field(
        default_factory=lambda: ["5xx", "connect", "timeout", "reset"]  # type: ignore[arg-type]
    )
    latency: Literal["service", "corrected"] = "corrected"
    endpoints: dict[str, Thresholds] = Field(default_factory=dict)
    # realtime (scenario "realtime"): connections the server dropped, as a count and as a share
    # of connection attempts; per-endpoint gates cover "SIO connect", "WS message" ...
    max_dropped: int | None = Field(None, ge=0)
    dropped_rate: MaxShare | None = None


class ExperimentConfig(_Strict):
    """One experiment; ``claim`` picks one instance (by name) of the claims it verifies,
    otherwise it runs once per instance the contract declares."""

    name: str
    claim: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Suite(_Strict):
    name: str
    description: str = ""
    contract: str | None = None  # path, relative to the suite file
    stack: StackConfig = Field(default_factory=StackConfig)
    load: LoadConfig | None = None
    slo: SloConfig = Field(default_factory=SloConfig)
    experiments: list[ExperimentConfig] = Field(default_factory=list)
    # every claim of the contract gets a verdict, as with `gauntlet verify`: each experiment
    # whose kind of claim the contract makes runs (the [[experiments]] listed set its
    # parameters), and a claim none verifies is reported "not verified" with the reason
    every_claim: bool = False
    # where run dirs go: a path given here is taken from the suite file's folder, as every path
    # of a suite; unset, reports/runs in the working directory (DEFAULT_OUTPUT_DIR)
    output_dir: str | None = None

    # Filled by parse_suite; not TOML keys.
    resolved_contract: Contract | None = Field(default=None, exclude=True)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def runs_dir(self) -> Path:
        """Where this suite's run dirs go (``output_dir`` is absolute once parsed)."""
        return Path(self.output_dir) if self.output_dir else DEFAULT_OUTPUT_DIR

    @property
    def the_contract(self) -> Contract:
        if self.resolved_contract is None:
            raise ConfigError(f"suite {self.name!r}: names no contract (give contract = PATH)")
        return self.resolved_contract


def resolve_scenario(name: str, base_dir: Path | None = None) -> Path:
    """A name → the harness' ``scenarios/<name>.py``; a path to a locustfile is taken
    relative to
    ``base_dir`` (the suite file's folder), else to the working directory."""
    candidate = Path(name)
    if candidate.suffix == ".py":
        path = candidate if candidate.is_absolute() else (base_dir or Path.cwd()) / candidate
        path = path.resolve()
    else:
        path = SCENARIO_DIR / f"{name}.py"
    if not path.is_file():
        known = sorted(
            p.stem for p in SCENARIO_DIR.glob("*.py")
            if not p.stem.startswith("_") and p.stem not in LIBRARY_MODULES
        )
        raise ConfigError(f"load.scenario: no scenario {name!r} (known: {', '.join(known)})")
    return path


def parse_suite(data: dict[str, Any], source: str = "suite", base_dir: Path | None = None,
                contract: Contract | None = None, needs_work: bool = True) -> Suite:
    """Validate a suite document (already parsed TOML), load its contract, resolve its scenario.

    ``base_dir`` is where relative paths in the suite point from (the suite file's folder);
    ``contract`` is used as it is instead of reading the file the suite names; ``needs_work``
    False accepts a suite that gives only the stack (``gauntlet up``).
    """
    base = (base_dir or Path.cwd()).resolve()
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, source)) from exc
    if contract is None and suite.contract is not None:
        contract = load_contract(base / suite.contract)
    # every path a suite names is taken from its own folder, whatever directory gauntlet runs in
    anchored: dict[str, Any] = {}
    if suite.output_dir is not None:
        anchored["output_dir"] = str((base / suite.output_dir).resolve())
    if suite.stack.handle is not None:
        anchored["stack"] = suite.stack.model_copy(
            update={"handle": str((base / suite.stack.handle).resolve())})
    if anchored:
        suite = suite.model_copy(update=anchored)
    if suite.load is not None and suite.load.duration_scale != 1:
        # stated durations, scaled once here (a rebuild re-parses the stated text)
        declared = suite.load.model_copy(update={"duration_scale": 1.0})
        suite = suite.model_copy(update={"load": declared.scaled(suite.load.duration_scale)})
    try:
        if suite.load is not None:
            # a locustfile path is taken relative to the suite file, and kept absolute so
            # Locust finds it whatever directory the run starts from
            found = suite.load.scenario_path(base)
            if suite.load.scenario.endswith(".py"):
                suite = suite.model_copy(update={
                    "load": suite.load.model_copy(update={"scenario": str(found)})})
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    if contract is not None:
        unknown = [v for v in suite.stack.variants if v not in contract.variants]
        if unknown:
            raise ConfigError(
                f"{source}: stack.variants: {unknown[0]!r} is not a variant of contract "
                f"{contract.name!r} (known: {', '.join(sorted(contract.variants)) or 'none'})")
        # the contract's claimed SLOs are defaults; the suite's own [slo] keys win
        claimed = contract.slo.model_dump(exclude_none=True) if suite.load is not None else {}
        try:
            slo = SloConfig.model_validate({**claimed, **data.get("slo", {})})
        except ValidationError as exc:
            raise ConfigError(one_line(exc, f"{source}: slo")) from exc
        suite = suite.model_copy(update={"slo": slo})
    elif suite.stack.variants:
        raise ConfigError(f"{source}: stack.variants needs a contract that declares them")
    if suite.stack.backend not in ("external", "up") and contract is None:
        raise ConfigError(f"{source}: backend {suite.stack.backend!r} boots the services a "
                          "contract declares: give contract = PATH")
    if suite.stack.backend == "compose" and contract is not None and contract.compose is None:
        raise ConfigError(f"{source}: backend 'compose' runs the compose files of the contract's "
                          f"[compose], and contract {contract.name!r} gives none (add [compose]: "
                          "its files, the service under test, where each link points)")
    if suite.stack.backend == "local" and contract is not None and not contract.services:
        raise ConfigError(f"{source}: contract {contract.name!r} declares no [services] for "
                          "the local backend to start (use backend = 'external')")
    if suite.load is not None and suite.load.scenario == "realtime":
        check_realtime(suite.load, contract, source)
    if suite.load is None and not suite.experiments and not suite.every_claim and needs_work:
        raise ConfigError(f"{source}: nothing to do: give a [load] section or [[experiments]]")
    return suite.model_copy(update={"resolved_contract": contract, "base_dir": base})


def check_realtime(load: LoadConfig, contract: Contract | None, source: str) -> None:
    """Scenario ``realtime`` takes its traffic from the contract, and in the open model each
    connection holds a user of the pool for its whole life: a pool that cannot hold
    rate * life connections sends every connection late, by construction."""
    realtime = contract.traffic.realtime if contract is not None else None
    if realtime is None:
        name = f"contract {contract.name!r}" if contract is not None else "no contract"
        raise ConfigError(f"{source}: load.scenario 'realtime' needs [traffic.realtime] in the "
                          f"contract ({name} declares none)")
    if load.model != "open":
        return
    peak = max([s.rate for s in load.rate_stages] if load.rate_stages else [load.rate or 0.0])
    if realtime.messages == 0:  # every connection lives until the run ends
        from gauntlet.scenarios.schedule import Schedule

        stages = ([(s.duration_s, s.rate) for s in load.rate_stages] if load.rate_stages
                  else [(load.total_duration_s, peak)])
        needed = Schedule.from_stages(stages, start_rate=stages[0][1]).total
        life = "until the run ends (messages = 0)"
    else:
        needed = peak * realtime.messages * realtime.think_s
        life = f"{realtime.messages} message(s), think {realtime.think_s:g} s each"
    if load.max_concurrency < needed:
        raise ConfigError(
            f"{source}: load.max_concurrency {load.max_concurrency} cannot hold the open "
            f"connections: {peak:g} new/s, each open {life}, needs at least {needed:.0f}")


def load_suite(path: Path, *, needs_work: bool = True) -> Suite:
    """Read and validate a suite file; every failure is a one-line :class:`ConfigError`.
    ``needs_work`` False accepts a suite that gives only its stack (``verify --suite``)."""
    return parse_suite(read_toml(path, "suite"), str(path), path.resolve().parent,
                       needs_work=needs_work)
