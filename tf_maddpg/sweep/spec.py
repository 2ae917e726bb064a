"""The sweep file: what it may say, how it is checked, and the trials it stands for.

A sweep file (YAML or JSON) names scenarios, algorithms, seeds and ``train``
options; lists are grid axes, ``{uniform: [a, b]}`` and its kind are search
spaces that Ray Tune samples (docs/sweeps.md has the whole format):

    scenarios: [simple_spread_v3]
    algorithms: [maddpg, matd3]
    seeds: [0, 1]
    options: {episodes: 20, eval_interval: 10, batch_size: [32, 64],
              actor_lr: {loguniform: [1.0e-4, 1.0e-2]}}
    num_samples: 2

``read_spec`` checks everything that can be checked without running
anything (keys, scenario, algorithm and option names, the form of each
value) and raises ``SpecError`` with one line that says what to change. A
value that a config refuses is refused too, in the command line's words
(``options: gamma: 2.0 is invalid: expected a finite float in [0, 1].``), when
every trial that holds it would fail on it. A combination that only some
trials make (``batch_size: [32, 128]`` beside ``minimal_size: 64``) is not the
file's mistake: ``check_grid`` names those trials up front, and the sweep
reports them as failed while the others run.

Each trial is one run folder, ``DIR/<scenario>/<algorithm>[-<options>]/seed<S>``
(``Trial.folder``): the options in the name are those the sweep varies.
Nothing here imports Ray or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import re
from typing import Dict, List, Optional, Sequence, Tuple

from tf_maddpg.algorithms.registry import ALGORITHMS, config_from_dict, field_names
from tf_maddpg.config import FIELD_ALIASES, MAX_SEED, ConfigError
from tf_maddpg.inputs import InputError, did_you_mean, read_yaml_or_json, show_value

SPACES = {
    "grid": "every value, one trial each (as a plain list)",
    "choice": "one of the values, drawn for each trial",
    "uniform": "[low, high]: a float drawn uniformly",
    "loguniform": "[low, high]: a float drawn uniformly in log space (low > 0)",
    "randint": "[low, high): an integer drawn uniformly (high excluded, as in Ray Tune)",
}
"""The value forms of an option besides a plain value: ``{kind: arguments}``."""
SAMPLED = ("choice", "uniform", "loguniform", "randint")

METRICS = "mean_return (the mean over agents), return/<agent> or group/<group>"
"""What an early-stopping scheduler may watch: keys of what each trial reports."""

TOP_KEYS = ("scenarios", "algorithms", "seeds", "options", "num_samples", "search_seed",
            "scheduler")
SCENARIO_KEYS = ("scenario", "name", "env_args", "options")
ALGORITHM_KEYS = ("algo", "name", "options")
ASHA_KEYS = ("metric", "mode", "grace_period", "reduction_factor", "max_t")


class SpecError(ValueError):
    """A sweep file that cannot run: the message is one line that names the key and
    what it accepts."""


@dataclasses.dataclass(frozen=True)
class Space:
    """A grid axis or a search space: ``kind`` (a key of ``SPACES``) and its arguments."""

    kind: str
    args: tuple

    def to_dict(self) -> dict:
        return {self.kind: [list(a) if isinstance(a, tuple) else a for a in self.args]}


@dataclasses.dataclass(frozen=True)
class ScenarioEntry:
    """A scenario of the sweep: its folder ``name``, the mpe2 ``scenario``, its
    options (``env_args``) and the train options of its trials."""

    name: str
    scenario: str
    env_args: Dict[str, object]
    options: Dict[str, object]


@dataclasses.dataclass(frozen=True)
class AlgorithmEntry:
    """An algorithm of the sweep: its folder ``name``, the registry's ``algo`` and the
    train options of its trials."""

    name: str
    algo: str
    options: Dict[str, object]


@dataclasses.dataclass(frozen=True)
class Asha:
    """Asynchronous successive halving (Ray Tune's ``ASHAScheduler``), counted in
    training episodes: at ``grace_period``, then every ``reduction_factor`` times
    further, a trial goes on only if its ``metric`` is in the best
    1/``reduction_factor`` of the trials that reached that episode."""

    metric: str = "mean_return"
    mode: str = "max"
    grace_period: Optional[int] = None  # None: the first evaluation (eval_interval)
    reduction_factor: int = 4
    max_t: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trial: entry names, the seed, the values of the options the sweep varies
    (``chosen``), and for trials with sampled values Ray Tune's trial number
    (``index``), which keeps their folders apart."""

    scenario: str
    algorithm: str
    seed: int
    chosen: Tuple[Tuple[str, object], ...] = ()
    index: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file (``read_spec``, ``parse_spec``)."""

    scenarios: Tuple[ScenarioEntry, ...]
    algorithms: Tuple[AlgorithmEntry, ...]
    seeds: Tuple[int, ...] = (0,)
    options: Dict[str, object] = dataclasses.field(default_factory=dict)
    num_samples: int = 1
    search_seed: int = 0
    scheduler: Optional[Asha] = None

    # --- What varies ---------------------------------------------------------------

    @property
    def varying(self) -> List[str]:
        """The options that differ between trials (grid axes of more than one value,
        search spaces), in the file's order: they name the trials' folders."""
        return [k for k, v in self.options.items()
                if isinstance(v, Space) and (v.kind != "grid" or len(v.args) > 1)]

    @property
    def sampled(self) -> bool:
        """Whether Ray Tune draws some values (a search space)."""
        return any(isinstance(v, Space) and v.kind in SAMPLED for v in self.options.values())

    def grid(self) -> List[Trial]:
        """Every trial of a sweep without search spaces, in a fixed order."""
        if self.sampled:
            raise ValueError("a sweep with search spaces has no fixed list of trials: "
                             "Ray Tune draws them")
        axes = [(k, self.options[k].args) for k in self.varying]
        return [Trial(s.name, a.name, seed, tuple(zip([k for k, _ in axes], values)))
                for s in self.scenarios for a in self.algorithms for seed in self.seeds
                for values in itertools.product(*(v for _, v in axes))]

    # --- One trial ---------------------------------------------------------------------

    def scenario_of(self, trial: Trial) -> ScenarioEntry:
        return next(s for s in self.scenarios if s.name == trial.scenario)

    def algorithm_of(self, trial: Trial) -> AlgorithmEntry:
        return next(a for a in self.algorithms if a.name == trial.algorithm)

    def config_values(self, trial: Trial) -> dict:
        """The trial's config fields: the sweep's options, then its scenario's, then its
        algorithm's, then the values chosen for it; ``algo`` and ``seed``."""
        scenario, algorithm = self.scenario_of(trial), self.algorithm_of(trial)
        values = {k: v.args[0] if isinstance(v, Space) else v for k, v in self.options.items()
                  if not isinstance(v, Space) or v.kind == "grid" and len(v.args) == 1}
        values.update(scenario.options)
        values.update(algorithm.options)
        values.update(dict(trial.chosen))
        values.update(algo=algorithm.algo, seed=trial.seed)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def folder(self, trial: Trial) -> str:
        """The trial's run folder, relative to the sweep's:
        ``<scenario>/<algorithm>[-<option><value>...][-t<index>]/seed<S>``."""
        chosen = dict(trial.chosen)
        short = trial.index is not None  # sampled values: short, the trial number keeps apart
        parts = [trial.algorithm] + [_part(k, chosen[k], short) for k in self.varying
                                     if k in chosen]
        if trial.index is not None:
            parts.append(f"t{trial.index}")
        return f"{trial.scenario}/{'-'.join(parts)}/seed{trial.seed}"

    def trial_from_tune(self, config: dict, trial_id: str) -> Trial:
        """The trial of a Ray Tune config (``param_space``'s keys) and its trial id
        (``<experiment>_<number>``)."""
        chosen = tuple((k, _tuple(config["options"][k])) for k in self.varying)
        index = int(trial_id.rsplit("_", 1)[-1]) if self.sampled else None
        return Trial(config["scenario"], config["algorithm"], int(config["seed"]), chosen,
                     index)

    def field(self, trial: Trial, name: str):
        """A config field of the trial: its value in the sweep, else its preset's, else the
        algorithm's default."""
        values = self.config_values(trial)
        if name in values:
            return values[name]
        cls = ALGORITHMS[self.algorithm_of(trial).algo].config_class
        preset = cls.presets.get(values.get("preset"), {})
        if name in preset:
            return preset[name]
        return next(f.default for f in dataclasses.fields(cls) if f.name == name)

    def cells(self) -> List[Trial]:
        """One trial per scenario and algorithm (seed and chosen values left out): what
        every trial of that pair shares."""
        return [Trial(s.name, a.name, self.seeds[0]) for s in self.scenarios
                for a in self.algorithms]

    # --- Back to a file ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The sweep as a file's mapping (every default written out): ``parse_spec`` of
        it gives this spec back."""
        def plain(options):
            return {k: (v.to_dict() if isinstance(v, Space) else
                        list(v) if isinstance(v, tuple) else v) for k, v in options.items()}

        out = {
            "scenarios": [{"scenario": s.scenario, "name": s.name, "env_args": dict(s.env_args),
                           "options": plain(s.options)} for s in self.scenarios],
            "algorithms": [{"algo": a.algo, "name": a.name, "options": plain(a.options)}
                           for a in self.algorithms],
            "seeds": list(self.seeds),
            "options": plain(self.options),
            "num_samples": self.num_samples,
            "search_seed": self.search_seed,
        }
        if self.scheduler is not None:
            out["scheduler"] = {"asha": dataclasses.asdict(self.scheduler)}
        return out


# --- Reading and checking -------------------------------------------------------------

def read_spec(path: str) -> SweepSpec:
    """Reads and checks a sweep file (YAML or JSON).

    Raises:
      SpecError: the file cannot be read, or says something that cannot run
        (the message is one line naming the file, the key and the fix).
    """
    try:
        data = read_yaml_or_json(path, path, example="docs/sweeps.md has the format")
    except InputError as error:
        raise SpecError(str(error)) from None
    try:
        return parse_spec(data)
    except SpecError as error:
        raise SpecError(f"{path}: {error}") from None


def parse_spec(data) -> SweepSpec:
    """Checks a sweep file's mapping and returns its ``SweepSpec``.

    Raises:
      SpecError: an unknown key, scenario, algorithm or option (with the
        closest known one), an option that is not a field of every algorithm
        it applies to, or a value of the wrong form.
    """
    if not isinstance(data, dict):
        raise SpecError("a sweep file holds a mapping with scenarios, algorithms and "
                        f"(optionally) {', '.join(TOP_KEYS[2:])}, not a "
                        f"{type(data).__name__}")
    _known_keys(data, TOP_KEYS, "key")
    for key in ("scenarios", "algorithms"):
        if key not in data:
            raise SpecError(f"no {key}: give a list, e.g. "
                            + ("scenarios: [simple_spread_v3]" if key == "scenarios"
                               else "algorithms: [maddpg]"))
    algorithms = tuple(_algorithm(a) for a in _list(data["algorithms"], "algorithms"))
    scenarios = tuple(_scenario(s) for s in _list(data["scenarios"], "scenarios"))
    for kind, entries in (("scenarios", scenarios), ("algorithms", algorithms)):
        names = [e.name for e in entries]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SpecError(f"{kind}: {', '.join(twice)} appears twice; give each entry its "
                            "own name (name: ...), which is its folder")
    seeds = data.get("seeds", [0])
    seeds = _list(seeds if isinstance(seeds, list) else [seeds], "seeds")
    for seed in seeds:
        if not (_is_int(seed) and 0 <= seed <= MAX_SEED):
            raise SpecError(f"seeds: {seed!r} is not a seed (an integer from 0 to {MAX_SEED})")
    if len(set(seeds)) < len(seeds):
        raise SpecError("seeds: a seed appears twice")
    options = _options(data.get("options") or {}, "options", spaces=True)
    for name, value in options.items():
        _check_space(name, value)
    algos = [a.algo for a in algorithms]
    _check_fields(options, algos, "options")
    for s in scenarios:
        _check_fields(s.options, algos, f"the options of scenario {s.name}")
        _check_fixed(s.options, options, f"scenario {s.name}")
    for a in algorithms:
        _check_fields(a.options, [a.algo], f"the options of algorithm {a.name}")
        _check_fixed(a.options, options, f"algorithm {a.name}")
    num_samples = data.get("num_samples", 1)
    if not (_is_int(num_samples) and num_samples >= 1):
        raise SpecError(f"num_samples: {num_samples!r} is not an integer >= 1")
    search_seed = data.get("search_seed", 0)
    if not (_is_int(search_seed) and 0 <= search_seed <= MAX_SEED):
        raise SpecError(f"search_seed: {search_seed!r} is not a seed (0 to {MAX_SEED})")
    spec = SweepSpec(scenarios, algorithms, tuple(seeds), options, num_samples, search_seed,
                     _scheduler(data.get("scheduler")))
    if num_samples > 1 and not spec.sampled:
        raise SpecError(f"num_samples: {num_samples} repeats trials with the same values, "
                        "which would share a run folder; give a search space in options "
                        "(e.g. actor_lr: {loguniform: [1.0e-4, 1.0e-2]}), or more seeds")
    if spec.scheduler is not None and spec.scheduler.max_t is None:
        if isinstance(options.get("num_episodes"), Space):
            raise SpecError("scheduler: asha needs max_t (the most episodes of a trial) "
                            "when episodes is a grid or a search space")
    if not spec.sampled:
        folders = [spec.folder(t) for t in spec.grid()]
        twice = sorted({f for f in folders if folders.count(f) > 1})
        if twice:
            raise SpecError(f"two trials would share the run folder {twice[0]}; give grid "
                            "values that differ when written out")
    _check_values(spec)
    return spec


def check_grid(spec: SweepSpec) -> List[Tuple[Trial, str]]:
    """The trials of a sweep without search spaces whose config would be refused, each
    with its config's reason (they fail when run; the others run)."""
    if spec.sampled:
        return []
    bad = []
    for trial in spec.grid():
        try:
            config_from_dict(spec.config_values(trial))
        except (ValueError, TypeError) as error:
            bad.append((trial, str(error)))
    return bad


def _check_values(spec: SweepSpec) -> None:
    """Raises the ``SpecError`` of a value that every trial holding it would fail on.

    Each scenario and algorithm pair is tried with every combination of the varied
    values (a search space by its two ends). A ``ConfigError`` refuses the value of
    its field when no trial with that value passes: a fixed value is held by every
    trial, a varied one by the trials that chose it."""
    varying = spec.varying
    axes = [_probes(spec.options[k]) for k in varying]
    for cell in spec.cells():
        trials = [dataclasses.replace(cell, chosen=tuple(zip(varying, values)))
                  for values in itertools.product(*axes)]
        errors = []
        for trial in trials:
            try:
                config_from_dict(spec.config_values(trial))
                errors.append(None)
            except ConfigError as error:
                errors.append(error)
            except (ValueError, TypeError):
                errors.append(None)  # not one field's value: check_grid names the trials
        for trial, error in zip(trials, errors):
            if error is None:
                continue
            chosen = dict(trial.chosen)
            holding = [e for t, e in zip(trials, errors) if error.field not in chosen
                       or dict(t.chosen)[error.field] == chosen[error.field]]
            if all(e is not None and e.field == error.field for e in holding):
                raise SpecError(f"{_source(spec, trial, error.field, error.value)} is "
                                f"invalid: {error.reason}")


def _probes(space: Space) -> tuple:
    """The values a check tries for a grid axis or search space: every listed value; a
    range's two ends (the high end of a half-open range just inside it)."""
    if space.kind in ("grid", "choice"):
        return space.args
    low, high = space.args
    return (low, high - 1) if space.kind == "randint" else (low, math.nextafter(high, low))


def _source(spec: SweepSpec, trial: Trial, name: str, value) -> str:
    """Where a trial's value of ``name`` comes from, as the file gives it:
    ``options: gamma: 2.0``, ``the options of algorithm m: tau: 2``, ``minimal_size:
    64 (the default)``."""
    algorithm, scenario = spec.algorithm_of(trial), spec.scenario_of(trial)
    space = spec.options.get(name)
    if isinstance(space, Space) and space.kind in ("uniform", "loguniform", "randint"):
        low, high = space.args
        end = "low" if value == low else "high"
        return f"options: {name}: {{{space.kind}: [{low}, {high}]}} (its {end} end)"
    for options, where in ((algorithm.options, f"the options of algorithm {algorithm.name}: "),
                           (scenario.options, f"the options of scenario {scenario.name}: "),
                           (spec.options, "options: ")):
        if name in options:
            return f"{where}{name}: {show_value(value)}"
    preset = spec.config_values(trial).get("preset")
    if preset is not None and name in ALGORITHMS[algorithm.algo].config_class.presets[preset]:
        return f"{name}: {show_value(value)} (preset {preset}'s, algo {algorithm.algo})"
    return f"{name}: {show_value(value)} (algo {algorithm.algo}'s default)"


# --- The parts of a file ----------------------------------------------------------------

def _entry(entry, section: str, noun: str, keys: Sequence[str]) -> dict:
    """An item of ``scenarios:`` or ``algorithms:`` as a mapping (a name alone is
    ``{keys[0]: name}``) whose keys are among ``keys``."""
    if isinstance(entry, str):
        entry = {keys[0]: entry}
    if not isinstance(entry, dict) or keys[0] not in entry:
        raise SpecError(f"{section}: {entry!r} is neither {noun} name nor a mapping with "
                        f"{keys[0]}: and optionally {', '.join(keys[1:])}")
    _known_keys(entry, keys, f"key of {noun.split()[-1]} {entry[keys[0]]}")
    return entry


def _scenario(entry) -> ScenarioEntry:
    from tf_maddpg.envs.mpe import check_scenario_name, check_scenario_options

    entry = _entry(entry, "scenarios", "a scenario", SCENARIO_KEYS)
    scenario = entry["scenario"]
    env_args = entry.get("env_args") or {}
    if not isinstance(env_args, dict):
        raise SpecError(f"scenario {scenario}: env_args is a mapping of its options, e.g. "
                        "{N: 4}")
    try:
        scenario = check_scenario_name(str(scenario))
        checked = check_scenario_options(scenario, env_args, where="env_args")
    except ValueError as error:
        raise SpecError(str(error)) from None
    name = entry.get("name") or "-".join([scenario] + [_part(k, v, False)
                                                       for k, v in sorted(env_args.items())])
    _check_name(name, f"scenario {scenario}")
    options = _options(entry.get("options") or {}, f"the options of scenario {scenario}",
                       spaces=False)
    return ScenarioEntry(name, scenario, checked, options)


def _algorithm(entry) -> AlgorithmEntry:
    entry = _entry(entry, "algorithms", "an algorithm", ALGORITHM_KEYS)
    algo = entry["algo"]
    if algo not in ALGORITHMS:
        raise SpecError(f"unknown algorithm {algo!r}{did_you_mean(algo, ALGORITHMS)}"
                        f"; known: {', '.join(ALGORITHMS)}")
    name = entry.get("name") or algo
    _check_name(name, f"algorithm {algo}")
    options = _options(entry.get("options") or {}, f"the options of algorithm {algo}",
                       spaces=False)
    return AlgorithmEntry(name, algo, options)


def _options(raw, where: str, spaces: bool) -> Dict[str, object]:
    """Option names made field names (dashes, aliases) and values made values or Spaces."""
    if not isinstance(raw, dict):
        raise SpecError(f"{where} is a mapping of train options, e.g. {{episodes: 1000}}")
    every = {n for a in ALGORITHMS.values() for n in field_names(a.config_class)}
    out: Dict[str, object] = {}
    for key, value in raw.items():
        name = FIELD_ALIASES.get(str(key).replace("-", "_"), str(key).replace("-", "_"))
        if name in ("seed", "algo"):
            raise SpecError(f"{where}: {key} is not an option here; give "
                            + ("seeds: [...]" if name == "seed" else "algorithms: [...]"))
        if name == "preset":
            if not isinstance(value, str):
                raise SpecError(f"{where}: preset: {value!r}; give one preset's name, e.g. "
                                "preset: harl")
            out[name] = value
            continue
        if name not in every:
            raise SpecError(f"{where}: unknown option {key!r}"
                            f"{did_you_mean(name, sorted(every | set(FIELD_ALIASES)))}"
                            + "; the options are train's config fields (tf-maddpg train "
                              "--help)")
        if name in out:
            raise SpecError(f"{where}: {key} is given twice")
        out[name] = _value(name, value, where, spaces)
    return out


def _value(name: str, value, where: str, spaces: bool):
    tuple_field = _is_tuple_field(name)
    value = _yaml_float(name, value)
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in SPACES:
            raise SpecError(f"{where}: {name}: {value!r} is not a value; a mapping gives a "
                            "grid or a search space, one of "
                            + "; ".join(f"{{{k}: ...}} {v}" for k, v in SPACES.items()))
        kind, args = next(iter(value.items()))
        if not spaces:
            raise SpecError(f"{where}: {name}: grids and search spaces go in the sweep's "
                            "top-level options (they apply to every trial)")
        if not isinstance(args, list) or not args:
            raise SpecError(f"{where}: {name}: {{{kind}: ...}} takes a list: {SPACES[kind]}")
        return Space(kind, tuple(_tuple(_yaml_float(name, a)) for a in args))
    if isinstance(value, list):
        if tuple_field and not any(isinstance(v, list) for v in value):
            return tuple(value)  # hidden_sizes: [64, 64] is one value
        if not spaces:
            raise SpecError(f"{where}: {name}: {value!r} is a grid; grids and search spaces "
                            "go in the sweep's top-level options")
        if not value:
            raise SpecError(f"{where}: {name}: an empty list is a grid of no values")
        return Space("grid", tuple(_tuple(_yaml_float(name, v)) for v in value))
    return value


def _check_space(name: str, value) -> None:
    if not isinstance(value, Space) or value.kind in ("grid", "choice"):
        return
    kind, args = value.kind, value.args
    where = f"options: {name}: {{{kind}: {list(args)}}}"
    if len(args) != 2 or not all(_is_number(a) for a in args) or not args[0] < args[1]:
        raise SpecError(f"{where} needs two numbers [low, high] with low < high")
    if kind == "loguniform" and args[0] <= 0:
        raise SpecError(f"{where}: loguniform needs low > 0")
    if kind == "randint" and not all(_is_int(a) for a in args):
        raise SpecError(f"{where}: randint takes integers [low, high), high excluded")
    kinds = {_field_type(name)}
    if "int" in kinds and kind != "randint":
        raise SpecError(f"{where}: {name} is an integer; use {{randint: [low, high]}}, "
                        "a list or {choice: [...]}")
    if kinds & {"bool", "str", "tuple"}:
        raise SpecError(f"{where}: {name} takes {_field_type(name)} values; use a list or "
                        "{choice: [...]}")


def _check_fields(options: dict, algos: Sequence[str], where: str) -> None:
    """Every option is a field (a preset: a preset) of every algorithm it applies to."""
    if "preset" in options:
        missing = [a for a in algos if options["preset"] not in ALGORITHMS[a].config_class.presets]
        if missing:
            raise SpecError(f"{where}: algo {', '.join(missing)} has no preset "
                            f"{options['preset']!r} (presets: "
                            + "; ".join(f"{a} {', '.join(ALGORITHMS[a].config_class.presets) or 'none'}"
                                        for a in missing) + ")")
    for name in options:
        if name == "preset":
            continue
        missing = [a for a in algos if name not in field_names(ALGORITHMS[a].config_class)]
        if missing:
            owners = [a for a in ALGORITHMS if name in field_names(ALGORITHMS[a].config_class)]
            raise SpecError(f"{where}: {name} is not a field of algo {', '.join(missing)} "
                            f"(it is a field of {', '.join(owners)}); give it in that "
                            "algorithm's own options: algorithms: [{algo: "
                            f"{owners[0]}, options: {{{name}: ...}}}}]")


def _check_fixed(entry_options: dict, options: dict, where: str) -> None:
    for name in entry_options:
        if isinstance(options.get(name), Space):
            raise SpecError(f"{where} sets {name}, which the sweep's options vary; vary it or "
                            "set it, not both")


def _scheduler(raw) -> Optional[Asha]:
    if raw is None:
        return None
    if not isinstance(raw, dict) or list(raw) != ["asha"]:
        raise SpecError(f"scheduler: {raw!r}; the one scheduler is asha: "
                        "{metric: mean_return, grace_period: 100, reduction_factor: 2}")
    values = raw["asha"] or {}
    if not isinstance(values, dict):
        raise SpecError("scheduler: asha takes a mapping of " + ", ".join(ASHA_KEYS))
    _known_keys(values, ASHA_KEYS, "key of scheduler asha")
    asha = Asha(**values)
    if not isinstance(asha.metric, str) or not re.fullmatch(
            r"mean_return|(return|group)/[\w-]+", asha.metric):
        raise SpecError(f"scheduler: asha: metric {asha.metric!r} is none of {METRICS}")
    if asha.mode not in ("max", "min"):
        raise SpecError(f"scheduler: asha: mode {asha.mode!r} is neither max nor min")
    for key, low in (("grace_period", 1), ("reduction_factor", 2)):
        if key == "grace_period" and asha.grace_period is None:
            continue
        if not (_is_int(getattr(asha, key)) and getattr(asha, key) >= low):
            raise SpecError(f"scheduler: asha: {key} {getattr(asha, key)!r} is not an "
                            f"integer >= {low}" + (" (episodes)" if key == "grace_period"
                                                   else ""))
    if asha.max_t is not None and not (_is_int(asha.max_t)
                                       and asha.max_t >= (asha.grace_period or 1)):
        raise SpecError(f"scheduler: asha: max_t {asha.max_t!r} is not an integer >= "
                        f"grace_period ({asha.grace_period or 1})")
    return asha


# --- Small pieces --------------------------------------------------------------------------

def _known_keys(mapping: dict, known: Sequence[str], what: str) -> None:
    for key in mapping:
        if key not in known:
            raise SpecError(f"unknown {what} {key!r}{did_you_mean(key, known)}"
                            f"; known: {', '.join(known)}")


def _list(value, key: str) -> list:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise SpecError(f"{key}: give a non-empty list, not {value!r}")
    return value


def _check_name(name, what: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.=+-]*", name):
        raise SpecError(f"{what}: name {name!r} is not a folder name (letters, digits, "
                        "and _ . = + -)")


def _field_type(name: str) -> str:
    for algorithm in ALGORITHMS.values():
        for field in dataclasses.fields(algorithm.config_class):
            if field.name == name:
                kind = str(field.type)
                return ("tuple" if kind.startswith("Tuple") else
                        "float" if "float" in kind else kind)
    return "?"


def _is_tuple_field(name: str) -> bool:
    return _field_type(name) == "tuple"


def _part(key: str, value, short: bool) -> str:
    """An option in a folder name: ``batch_size32``, ``actor_lr0.001``, ``no_async_update``,
    ``hidden_sizes64x64``, ``N4``."""
    if isinstance(value, bool):
        return key if value else f"no_{key}"
    if isinstance(value, (list, tuple)):
        return key + "x".join(str(v) for v in value)
    if isinstance(value, numbers.Integral):
        return f"{key}{value}"
    if isinstance(value, numbers.Real):
        return f"{key}{value:.3g}" if short else f"{key}{float(value)!r}"
    return f"{key}-{re.sub(r'[^A-Za-z0-9_.]+', '_', str(value))}"


def _yaml_float(name: str, value):
    """YAML 1.1 reads ``1e-4`` (no dot) as text: a float field takes it as the number."""
    if isinstance(value, str) and _field_type(name) == "float":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))
